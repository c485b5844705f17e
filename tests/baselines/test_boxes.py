"""Box adapters: crop round trips and the dlib detector-style rectangle."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from redbench.baselines.boxes import crop_affine, dlib_detector_rect, square_crop, to_crop, to_input


@settings(max_examples=25, deadline=None)
@given(st.floats(10, 50), st.floats(10, 50), st.floats(8, 40), st.floats(8, 40), st.floats(1.0, 2.0))
def test_to_input_and_to_crop_are_inverse(x0: float, y0: float, w: float, h: float, scale: float) -> None:
    box = np.array([[x0, y0, x0 + w, y0 + h]])
    pts = np.random.default_rng(0).uniform(0, 100, (1, 68, 2))
    aff = crop_affine(box[0], scale, 64)[None]
    np.testing.assert_allclose(to_crop(to_input(pts, aff), aff), pts, atol=1e-9)


def test_square_crop_maps_the_box_centre_to_the_input_centre() -> None:
    crops = np.zeros((1, 100, 100, 3), np.uint8)
    crops[0, 40, 60] = 255  # a dot at (x=60, y=40): the centre of the box below
    box = np.array([[50.0, 20.0, 70.0, 60.0]])  # w 20, h 40: squared to 40 x 40, x1.0
    images, aff = square_crop(crops, box, 1.0, 40)
    centre = to_input(np.array([[[60.0, 40.0]]]), aff)[0, 0]
    np.testing.assert_allclose(centre, [19.5, 19.5])  # pixel centres of a 40 px input run 0..39
    y, x = np.unravel_index(images[0, ..., 0].argmax(), (40, 40))
    assert abs(x - 19.5) <= 0.5 and abs(y - 19.5) <= 0.5


def test_dlib_rect_hand_computed() -> None:
    # Box w = 100, h = 120: side 0.99 * 110 = 108.9, centre (150, 160 - 0.083 * 120 = 150.04).
    left, top, right, bottom = dlib_detector_rect(np.array([100.0, 100.0, 200.0, 220.0]))
    assert (left, top, right, bottom) == (round(150 - 54.45), round(150.04 - 54.45), round(150 + 54.45),
                                          round(150.04 + 54.45))
