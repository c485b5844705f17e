"""Box protocols: gt and jittered boxes, detector fallback, and dlib's HOG detector on a real face."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.boxes import BoxConfig, clip_rng, detector_boxes, gt_boxes, jitter_boxes, scale_box
from redbench.datasets.detector import HogDetector


def test_scale_box_by_hand():
    np.testing.assert_allclose(scale_box(np.array([10.0, 20.0, 30.0, 60.0]), 1.5), [5.0, 10.0, 35.0, 70.0])


def test_gt_box_is_the_tight_landmark_box_scaled():
    pts = np.zeros((1, 68, 2))
    pts[0, :, 0] = np.linspace(10, 50, 68)
    pts[0, :, 1] = np.linspace(0, 20, 68)
    np.testing.assert_allclose(gt_boxes(pts), [[10, 0, 50, 20]])
    np.testing.assert_allclose(gt_boxes(pts, 2.0), [[-10, -10, 70, 30]])


def test_jitter_depends_only_on_seed_and_clip():
    gt = np.tile([0.0, 0.0, 100.0, 100.0], (20, 1))
    cfg = BoxConfig()
    a = jitter_boxes(gt, clip_rng(0, "300vw/114"), cfg)
    b = jitter_boxes(gt, clip_rng(0, "300vw/114"), cfg)
    c = jitter_boxes(gt, clip_rng(0, "300vw/124"), cfg)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # In two pieces (the preprocess blocks) the draws are the same as in one.
    rng = clip_rng(0, "300vw/114")
    np.testing.assert_array_equal(np.concatenate([jitter_boxes(gt[:7], rng, cfg), jitter_boxes(gt[7:], rng, cfg)]), a)


def test_zero_jitter_is_the_gt_box():
    gt = np.array([[5.0, 6.0, 50.0, 70.0]])
    cfg = BoxConfig(jitter_shift=0.0, jitter_scale=0.0)
    np.testing.assert_allclose(jitter_boxes(gt, np.random.default_rng(1), cfg), gt)


def test_jitter_statistics_and_clipping():
    gt = np.tile([0.0, 0.0, 100.0, 100.0], (20000, 1))
    cfg = BoxConfig(jitter_shift=0.1, jitter_scale=0.2, jitter_clip=2.0)
    j = jitter_boxes(gt, np.random.default_rng(0), cfg)
    shift = (j[:, :2] + j[:, 2:]) / 2 - 50.0  # sd 0.1 x sqrt(100 x 100) = 10 px before clipping at 2 sd
    log_scale = np.log((j[:, 2] - j[:, 0]) / 100.0)
    assert np.abs(shift).max() <= 20.0 + 1e-9 and np.abs(log_scale).max() <= 0.4 + 1e-9
    assert 9.3 < shift.std() < 9.8  # a normal clipped at 2 sd has sd 0.955 x 10 px
    assert 0.186 < log_scale.std() < 0.196
    assert abs(shift.mean()) < 0.3


def test_detector_fallback_by_hand():
    gt = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12], [3, 3, 13, 13]], dtype=float)
    d = np.array([5.0, 5.0, 15.0, 15.0])
    boxes, found, last = detector_boxes([None, d, None, None], gt, previous=None)
    np.testing.assert_array_equal(boxes, [gt[0], d, d, d])
    assert found.tolist() == [False, True, False, False]
    np.testing.assert_array_equal(last, d)
    # Across a block boundary the previous box carries over.
    boxes, found, _ = detector_boxes([None], gt[:1], previous=last)
    np.testing.assert_array_equal(boxes, [d])


@pytest.fixture(scope="module")
def astronaut():
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()  # (512, 512, 3) RGB, one face


def test_hog_detector_finds_the_astronaut_and_maps_boxes_back(astronaut):
    full = HogDetector(size=512)(astronaut)  # no resize: dlib's own coordinates
    assert full is not None
    cx, cy = (full[:2] + full[2:]) / 2
    assert 180 < cx < 260 and 60 < cy < 150  # her face (scikit-image's astronaut, Eileen Collins)
    # Run at 3/4 resolution: the box maps back to full-image coordinates (dlib's pyramid steps of 5/6
    # quantise box sizes, hence the tolerance; a wrong mapping would be off by a quarter, ~40+ px).
    smaller = HogDetector(size=384)(astronaut)
    assert smaller is not None
    np.testing.assert_allclose(smaller, full, atol=10)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 100))
def test_hog_detector_finds_nothing_in_noise(seed):
    noise = np.random.default_rng(seed).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    assert HogDetector(size=160)(noise) is None
