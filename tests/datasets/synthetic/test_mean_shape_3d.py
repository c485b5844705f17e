import numpy as np

from redbench.datasets.mean_shape_3d import mean_shape_3d
from redbench.landmarks import flip_permutation


def test_shape_and_centring():
    s = mean_shape_3d()
    assert s.shape == (68, 3) and s.dtype == np.float64
    np.testing.assert_allclose(s.mean(axis=0), 0.0, atol=1e-9)


def test_mirror_symmetric():
    s = mean_shape_3d()
    mirrored = s[flip_permutation()] * [-1, 1, 1]
    np.testing.assert_allclose(mirrored, s, atol=1e-9)


def test_layout_in_image_frame():
    s = mean_shape_3d()
    # Subject's right eye (36-41) on the image left; y grows downward: brows < eyes < nose tip < mouth < chin.
    assert s[36:42, 0].max() < 0 < s[42:48, 0].min()
    assert s[17:27, 1].max() < s[36:48, 1].min() < s[30, 1] < s[48:68, 1].min() < s[8, 1]
    # The nose tip is the point nearest the camera (z toward the camera).
    assert np.argmax(s[:, 2]) == 30


def test_proportions_in_mm():
    s = mean_shape_3d()
    biocular = np.linalg.norm(s[45] - s[36])
    mouth = np.linalg.norm(s[54] - s[48])
    face_height = s[8, 1] - s[27, 1]  # nasion to chin (n-gn)
    assert 85 < biocular < 95  # Farkas ex-ex ~ 90 mm
    assert 45 < mouth < 55  # ch-ch ~ 50 mm
    assert 105 < face_height < 125  # n-gn ~ 116 mm
