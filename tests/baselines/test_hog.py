"""Dense HOG at landmarks equals scikit-image's HOG blocks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from skimage.feature import hog

from redbench.baselines._hog import block_descriptors, cell_maps, l2_hys, to_gray


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([4, 6, 8]))
def test_blocks_equal_skimage_hog(seed: int, cell: int) -> None:
    img = np.random.default_rng(seed).random((6 * cell, 7 * cell))
    ref = hog(img, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2), block_norm="L2-Hys",
              feature_vector=False)  # (rows-1, cols-1, 2, 2, 9)
    maps = cell_maps(img, cell)
    for i in range(ref.shape[0]):
        for j in range(ref.shape[1]):
            centre = np.array([[cell * (j + 1), cell * (i + 1)]], dtype=float)  # (x, y) where 4 cells meet
            np.testing.assert_allclose(block_descriptors(maps, centre, cell)[0], ref[i, j].ravel(), atol=1e-5)


def test_vertical_edge_fills_the_horizontal_gradient_bin() -> None:
    img = np.zeros((32, 32))
    img[:, 16:] = 1.0  # gradient along +x: orientation 0 degrees, bin 0
    d = block_descriptors(cell_maps(img, 8), np.array([[16.0, 16.0]]), 8)[0].reshape(4, 9)
    assert np.all(d[:, 1:] == 0) and np.all(d[:, 0] > 0)


def test_points_outside_the_image_give_empty_cells() -> None:
    d = block_descriptors(cell_maps(np.random.default_rng(0).random((16, 16)), 4), np.array([[-50.0, -50.0]]), 4)
    assert np.all(d == 0)


def test_l2_hys_clips_and_renormalises() -> None:
    v = np.array([[10.0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 9.0]])  # L2-normalised: 0.74 and 0.67, both > 0.2
    out = l2_hys(v)
    np.testing.assert_allclose(out[0, [0, -1]], [2**-0.5, 2**-0.5], atol=1e-6)  # clipped equal, renormalised
    assert np.all(out[0, 1:-1] == 0)


def test_gray_weights_sum_to_one() -> None:
    assert np.allclose(to_gray(np.full((1, 2, 2, 3), 255, np.uint8)), 1.0)
