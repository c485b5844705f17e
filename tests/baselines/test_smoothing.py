"""The smoothing filters: less jitter on a noisy static track, bounded lag on a step, causal, wrap()."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.baselines import smoothing
from redbench.methods.protocol import StaticMethod

# A track in face sizes: still at 0, a step of 0.3 face sizes at frame 60, still again; noise sd 0.01.
STEP_AT, STEP, NOISE, T = 60, 0.3, 0.01, 120
MAX_LAG = 4  # frames until the filtered track is within 10% of the step of its new level (stated bound)


def _track(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    truth = np.where(np.arange(T) >= STEP_AT, STEP, 0.0)[:, None, None] * np.ones((T, 68, 2))
    noisy = truth + np.random.default_rng(seed).normal(0, NOISE, truth.shape)
    return truth, noisy


def _jitter(track: np.ndarray, lo: int, hi: int) -> float:
    """RMS deviation from the mean over a still stretch [lo, hi)."""
    part = track[lo:hi]
    return float(np.sqrt(((part - part.mean(axis=0)) ** 2).mean()))


@pytest.mark.parametrize("cfg", [smoothing.Config(filter="one_euro"), smoothing.Config(filter="kalman")])
def test_filter_reduces_jitter_without_lagging_a_step(cfg: smoothing.Config) -> None:
    truth, noisy = _track()
    out = smoothing.smooth_track(noisy * 50.0, 50.0, cfg) / 50.0  # 50 px per face size: units cancel
    # Jitter on the still stretches (after the filter settled) at most 60% of the raw jitter (defaults give
    # about 36% for One Euro and 52% for the Kalman filter).
    for lo, hi in ((10, STEP_AT), (STEP_AT + 15, T)):
        assert _jitter(out, lo, hi) < 0.6 * _jitter(noisy, lo, hi)
    # Lag: mean over points is within 10% of the step by STEP_AT + MAX_LAG.
    level = out[:, :, :].mean(axis=(1, 2))
    settled = np.flatnonzero(np.abs(level - STEP) < 0.1 * STEP)
    assert settled.size and settled[settled >= STEP_AT][0] <= STEP_AT + MAX_LAG
    assert np.abs(out[STEP_AT + 15:] - truth[STEP_AT + 15:]).mean() < 2 * NOISE


def test_filters_are_causal_and_start_at_the_first_measurement() -> None:
    _, noisy = _track(1)
    for cfg in (smoothing.Config(filter="one_euro"), smoothing.Config(filter="kalman")):
        full = smoothing.smooth_track(noisy, 1.0, cfg)
        head = smoothing.smooth_track(noisy[:30], 1.0, cfg)
        np.testing.assert_allclose(full[:30], head)  # the future does not change the past
        np.testing.assert_allclose(full[0], noisy[0])


def test_constant_track_is_a_fixed_point() -> None:
    x = np.full((20, 68, 2), 3.0)
    for cfg in (smoothing.Config(filter="one_euro"), smoothing.Config(filter="kalman")):
        np.testing.assert_allclose(smoothing.smooth_track(x, 10.0, cfg), x)


def test_unknown_filter_is_an_error() -> None:
    with pytest.raises(ValueError, match="one_euro"):
        smoothing.Config(filter="median")


class _Noisy(StaticMethod):
    """Returns a fixed shape in the box plus noise: a stand-in static method."""

    name = "noisy"

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        r = np.random.default_rng(1).random((68, 2))
        self.shape = (r - r.min(0)) / (r.max(0) - r.min(0))  # spans the box, so tracking boxes stay put

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        size = boxes[:, None, 2:] - boxes[:, None, :2]
        return boxes[:, None, :2] + self.shape * size + self.rng.normal(0, 0.5, (len(boxes), 68, 2))


@pytest.mark.parametrize("tracking", [False, True])
def test_smoothed_method_is_temporal_and_keeps_shapes(tracking: bool) -> None:
    base = _Noisy()
    method = smoothing.wrap(base, smoothing.Config())
    assert method.temporal and method.name == "noisy+smooth"
    crops = np.zeros((25, 32, 32, 3), np.uint8)
    boxes = np.tile([4.0, 4.0, 28.0, 28.0], (25, 1))
    out = method.predict_clip(crops, boxes, tracking)
    assert out.shape == (25, 68, 2) and out.dtype == np.float64
    expected = boxes[:, None, :2] + base.shape * 24.0
    assert np.abs(out[10:] - expected[10:]).mean() < 0.5  # noise sd 0.5 px, smoothed; tracking does not drift


def test_wrap_refuses_temporal_methods() -> None:
    base = _Noisy()
    base.temporal = True
    with pytest.raises(ValueError, match="temporal"):
        smoothing.wrap(base, smoothing.Config())
