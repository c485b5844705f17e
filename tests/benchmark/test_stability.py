"""FHR's accuracy and stability errors on hand-computed tracks."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.benchmark import stability as S


def _shape(size: float = 100.0) -> np.ndarray:
    """A (68, 2) shape whose landmark box is size x size/2: w_t = size / 100."""
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 1, (68, 2)) * [size, size / 2]
    s[0], s[1] = [0, 0], [size, size / 2]
    return s


def _track(shape: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The shape translated by offsets (T, 2) -> (T, 68, 2)."""
    return shape[None] + np.asarray(offsets, dtype=np.float64)[:, None, :]


def test_face_size_is_max_side_over_100():
    assert S.face_size(_shape(200.0)[None])[0] == pytest.approx(2.0)


def test_rmse_of_a_constant_offset_is_offset_over_face_size():
    g = _track(_shape(), np.zeros((4, 2)))
    p = g + [3.0, 4.0]  # |offset| = 5 px on a 100 px face (w = 1)
    np.testing.assert_allclose(S.rmse(p, g), 5.0)
    # RMS, not mean: half the points 0 px off, half 2 px off -> sqrt(2)
    q = g.copy()
    q[:, :34, 0] += 2.0
    np.testing.assert_allclose(S.rmse(q, g), np.sqrt(2.0))


def test_delay_of_a_track_one_frame_behind_the_truth_is_one():
    g = _track(_shape(), np.arange(6)[:, None] * [2.0, 1.0])  # constant velocity
    p = np.concatenate([g[:1], g[:-1]])  # p_t = g_{t-1}
    np.testing.assert_allclose(S.time_delay(p, g), 1.0)
    np.testing.assert_allclose(S.time_delay(g, g), 0.0)
    two = np.concatenate([g[:2], g[:-2]])  # two frames late at constant velocity
    np.testing.assert_allclose(S.time_delay(two, g)[1:], 2.0)
    ahead = np.concatenate([g[1:], g[-1:]])  # one frame early
    np.testing.assert_allclose(S.time_delay(ahead, g)[:-1], -1.0)


def test_delay_is_undefined_where_the_truth_does_not_move():
    g = _track(_shape(), [[0, 0], [0, 0], [1, 0]])
    d = S.time_delay(g + 1.0, g)
    assert np.isnan(d[0]) and np.isfinite(d[1])


def test_constant_speed_straight_line_has_zero_sta1_and_sta2():
    p = _track(_shape(), np.arange(5)[:, None] * [3.0, -1.0])
    np.testing.assert_allclose(S.sta1(p, p), 0.0, atol=1e-12)
    np.testing.assert_allclose(S.sta2(p, p), 0.0, atol=1e-12)


def test_change_of_speed_on_a_line_counts_in_sta1_only():
    g = _track(_shape(), np.zeros((3, 2)))
    p = _track(_shape(), [[0, 0], [1, 0], [3, 0]])  # midpoint 1.5, so sta1 = 0.5 px; on the segment: sta2 = 0
    np.testing.assert_allclose(S.sta1(p, g), [0.5])
    np.testing.assert_allclose(S.sta2(p, g), [0.0], atol=1e-12)


def test_sta2_is_the_distance_from_the_segment():
    g = _track(_shape(), np.zeros((3, 2)))
    p = _track(_shape(), [[0, 0], [2, 3], [4, 0]])  # 3 px off the segment's midpoint, perpendicular
    np.testing.assert_allclose(S.sta2(p, g), [3.0])
    np.testing.assert_allclose(S.sta1(p, g), [3.0])
    beyond = _track(_shape(), [[0, 0], [6, 0], [4, 0]])  # overshoot: q clipped to 1, distance to p_{t+1} = 2
    np.testing.assert_allclose(S.sta2(beyond, g), [2.0])
    still = _track(_shape(), [[0, 0], [0, 5], [0, 0]])  # neighbours equal: distance to that point
    np.testing.assert_allclose(S.sta2(still, g), [5.0])


def test_values_scale_with_face_size():
    g = _track(_shape(200.0), np.zeros((3, 2)))  # w = 2
    p = _track(_shape(200.0), [[0, 0], [2, 3], [4, 0]])
    np.testing.assert_allclose(S.sta2(p, g), [1.5])


def test_frame_values_break_at_clip_boundaries_and_gaps():
    base = _shape()
    offs = np.array([[0, 0], [1, 0], [2, 0], [9, 9], [10, 9], [11, 9], [12, 9]], float)
    g = _track(base, offs)
    p = np.concatenate([g[:1], g[:-1]])  # one frame late everywhere (also across the boundary)
    codes = np.array([0, 0, 0, 1, 1, 1, 1])
    frames = np.array([0, 1, 2, 0, 1, 3, 4])  # clip 1 jumps from frame 1 to 3
    v = S.fhr_frame_values(p, g, codes, frames)
    d = v["fhr_delay"]
    np.testing.assert_array_equal(np.isnan(d), [True, False, False, True, False, True, False])
    np.testing.assert_allclose(d[[1, 2, 4, 6]], 1.0)
    s = v["fhr_sta1"]
    np.testing.assert_array_equal(np.isfinite(s), [False, True, False, False, False, False, False])
    assert np.isfinite(v["fhr_rmse"]).all()
    assert set(v) == set(S.FHR_KEYS)


def test_inputs_are_not_mutated():
    g = _track(_shape(), np.arange(4)[:, None] * [1.0, 2.0])
    p = g + 0.5
    p0, g0 = p.copy(), g.copy()
    S.fhr_frame_values(p, g, np.zeros(4, int), np.arange(4))
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(g, g0)


def test_fhr_layout_puts_the_video_average_under_the_bare_key():
    m = {"fhr_delay": {"value": 1.0}, "fhr_delay/video": {"value": 2.0}, "nme": {"value": 3.0},
         "nme/video": {"value": 4.0}}
    out = S.fhr_layout(m)
    assert out["fhr_delay"] == {"value": 2.0} and out["fhr_delay/pooled"] == {"value": 1.0}
    assert "fhr_delay/video" not in out and out["nme/video"] == {"value": 4.0}
