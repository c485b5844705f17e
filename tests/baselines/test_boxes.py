"""Box adapters: crop round trips, the face-resolution warning, dlib's detector-box model, flips of boxes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from redbench.datasets.boxes import flip_boxes, gt_boxes, tracking_box
from redbench.datasets.detector import DlibBoxModel
from redbench.datasets.input_crop import FaceResolutionWarning, crop_affine, square_crop, to_crop, to_input
from redbench.landmarks import flip_points, mirror_points


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


def test_square_crop_warns_naming_both_sizes_when_it_upsamples_the_face() -> None:
    crops = np.zeros((2, 128, 128, 3), np.uint8)
    boxes = np.array([[32.0, 32.0, 96.0, 96.0]] * 2)  # a 64 px face, the synthetic default's
    with pytest.warns(FaceResolutionWarning, match=r"102 px .* 64 px \(1\.60x"):
        square_crop(crops, boxes, 1.25, 128)  # RED's paper preset: 128 / 1.25 = 102 px
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        square_crop(crops, boxes, 1.25, 64)  # RED's CPU preset: 51 px, a downsample
        square_crop(crops, boxes, 1.2, 80)  # SDM: 67 px, 1.04x


def test_tracking_a_perfect_prediction_gives_the_gt_box_for_any_gt_box_scale() -> None:
    pts = np.random.default_rng(1).uniform(10, 90, (68, 2))
    for scale in (1.0, 1.3):
        np.testing.assert_allclose(tracking_box(pts, scale), gt_boxes(pts[None], scale)[0])
    lo, hi = pts.min(0), pts.max(0)
    np.testing.assert_allclose(tracking_box(pts, 2.0), [*(1.5 * lo - 0.5 * hi), *(1.5 * hi - 0.5 * lo)])


def test_flip_boxes_matches_flipped_points() -> None:
    pts = np.random.default_rng(2).uniform(5, 60, (1, 68, 2))
    box = gt_boxes(pts) + [-0.5, -0.5, 0.5, 0.5]  # edges around pixel centres
    flipped = gt_boxes(flip_points(pts, 64)) + [-0.5, -0.5, 0.5, 0.5]
    np.testing.assert_allclose(flip_boxes(box, 64), flipped, atol=1e-9)


def test_mirror_points_in_box_units_and_twice_is_identity() -> None:
    u = np.random.default_rng(3).uniform(0, 1, (68, 2))
    m = mirror_points(u, 1.0)
    np.testing.assert_allclose(m[45], [1 - u[36, 0], u[36, 1]])  # outer eye corners swap sides
    np.testing.assert_allclose(mirror_points(m, 1.0), u)


def test_dlib_box_model_by_hand() -> None:
    model = DlibBoxModel(box_side=1.1, box_dy=-0.1, pts_dx=0.05, pts_dy=-0.2, pts_side=3.0)
    # Box w 100, h 120: side 1.1 * 110 = 121, centre (150, 160 - 12 = 148); dx 0.2 moves it 20 px right.
    np.testing.assert_allclose(model.from_box(np.array([100.0, 100.0, 200.0, 220.0])),
                               [89.5, 87.5, 210.5, 208.5])
    np.testing.assert_allclose(model.from_box(np.array([100.0, 100.0, 200.0, 220.0]), dx=0.2)[[0, 2]],
                               [109.5, 230.5])
    # Points on a circle of radius 10 about (50, 40): r = 10, centre (50.5, 38), side 30.
    a = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    pts = np.stack([50 + 10 * np.cos(a), 40 + 10 * np.sin(a)], axis=1)
    np.testing.assert_allclose(model.from_points(pts), [35.5, 23.0, 65.5, 53.0], atol=1e-9)


def test_dlib_box_model_fit_recovers_the_model_it_was_made_with() -> None:
    truth = DlibBoxModel(box_side=1.05, box_dy=-0.12, pts_dx=-0.04, pts_dy=-0.2, pts_side=2.9)
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 1, (68, 2))
    faces = np.stack([base * rng.uniform(80, 200) + rng.uniform(0, 300, 2) for _ in range(5)])
    # detections made by the points rule; the box rule's numbers are then what those boxes imply
    det = np.stack([truth.from_points(f) for f in faces])
    fitted = DlibBoxModel.fit(det, faces)
    assert fitted.pts_dx == pytest.approx(truth.pts_dx) and fitted.pts_dy == pytest.approx(truth.pts_dy)
    assert fitted.pts_side == pytest.approx(truth.pts_side)
    # the box rule keeps the box's centre x (yaw is not in the box): its y and side are exact for one shape
    from_box = np.stack([fitted.from_box(gt_boxes(f)) for f in faces])
    np.testing.assert_allclose(from_box[:, [1, 3]], det[:, [1, 3]], atol=1e-6)
    np.testing.assert_allclose(from_box[:, 2] - from_box[:, 0], det[:, 2] - det[:, 0], atol=1e-6)
