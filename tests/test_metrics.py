from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from redbench import metrics as M
from redbench.landmarks import COARSE_GROUPS


def _face() -> np.ndarray:
    """A GT frame (68, 2): outer eye corners 36=(0,0), 45=(10,0); eyes centred at (1,0) and (9,0)."""
    g = np.full((68, 2), 5.0)
    g[36:42] = [[0, 0], [1, -1], [2, -1], [2, 0], [1, 1], [0, 1]]  # mean (1, 0)
    g[42:48] = [[8, 0], [8, -1], [9, -1], [10, 0], [9, 1], [10, 1]]  # mean (9, 0)
    return g


def _random_faces(seed: int, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0, 100, (n, 68, 2))
    gt[:, 36] = [20, 40]  # keep every normaliser well away from 0
    gt[:, 45] = [80, 42]
    gt[:, 42:48, 0] += 40
    gt[:, 0] = [0, 0]
    gt[:, 8] = [100, 100]
    pred = gt + rng.normal(0, 3, gt.shape)
    return pred, gt


def test_normalisers_hand_computed():
    g = np.full((68, 2), 2.0)
    g[36], g[45] = [0, 0], [6, 8]  # inter-ocular 10
    g[37:42] = [0, 0]
    g[42:48] = [6, 8]  # eye centres (0,0) and (6,8) as well -> inter-pupil 10 ... then move the right eye
    g[37:42] = [[-2, 0], [-2, 0], [-2, 0], [-2, 0], [-2, 0]]  # right-eye mean = (0 - 10) / 6 = (-10/6, 0)
    assert M.normaliser(g, "inter_ocular") == pytest.approx(10.0)
    assert M.normaliser(g, "inter_pupil") == pytest.approx(np.hypot(6 + 10 / 6, 8))
    # box: x in [-2, 6], y in [0, 8] -> w 8, h 8
    assert M.normaliser(g, "box") == pytest.approx(8.0)
    assert M.normaliser(g, "diagonal") == pytest.approx(np.hypot(8, 8))
    with pytest.raises(ValueError, match="unknown normaliser"):
        M.normaliser(g, "face_size")


def test_nme_hand_computed_68_and_49():
    gt = _face()[None]  # inter-ocular 10
    pred = gt.copy()
    pred[0, :, 0] += 1.0  # every point 1 px off
    assert M.nme(pred, gt)[0] == pytest.approx(0.1)
    # 2 px error on the jaw and the inner-mouth corners only: invisible to the 49-point set
    pred = gt.copy()
    pred[0, list(range(17)) + [60, 64], 1] += 2.0
    assert M.nme(pred, gt, points=68)[0] == pytest.approx(19 * 2 / 68 / 10)
    assert M.nme(pred, gt, points=49)[0] == 0.0
    assert M.nme(pred, gt, points=51)[0] == pytest.approx(2 * 2 / 51 / 10)
    assert M.nme(pred, gt, points=[0, 20])[0] == pytest.approx(1 / 10)


def test_nme_inter_pupil_hand_computed():
    gt = _face()[None]
    assert M.normaliser(gt, "inter_pupil")[0] == pytest.approx(8.0)  # eye centres (1,0) and (9,0)
    pred = gt + [0.0, 4.0]
    assert M.nme(pred, gt, norm="inter_pupil")[0] == pytest.approx(0.5)
    assert M.nme(pred, gt, norm="inter_ocular")[0] == pytest.approx(0.4)


def test_group_nme_hand_computed():
    gt = _face()[None]
    pred = gt.copy()
    pred[0, 36:48, 0] += 3.0  # eyes only
    g = M.group_nme(pred, gt)
    assert set(g) == set(COARSE_GROUPS)
    assert g["eyes"][0] == pytest.approx(0.3)
    assert g["jaw"][0] == g["mouth"][0] == g["nose"][0] == g["brows"][0] == 0.0


def test_inputs_not_mutated():
    pred, gt = _random_faces(1)
    p0, g0 = pred.copy(), gt.copy()
    M.nme(pred, gt, norm="box", points=49)
    M.motion_error(pred, gt)
    M.jitter(pred, gt)
    np.testing.assert_array_equal(pred, p0)
    np.testing.assert_array_equal(gt, g0)


def test_ced_auc_failure_hand_computed():
    e = np.array([0.01, 0.02, 0.05, 0.1])
    np.testing.assert_allclose(M.ced(e, [0, 0.02, 0.08, 1.0]), [0, 0.5, 0.75, 1.0])
    assert M.auc(np.array([0.0, 0.04, 0.1]), 0.08) == pytest.approx(0.5)
    assert M.failure_rate(np.array([0.08, 0.081, 0.0]), 0.08) == pytest.approx(1 / 3)  # == a is no failure
    with pytest.raises(AssertionError):
        M.auc(np.array([np.nan, 0.1]))


@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 0.3)), st.sampled_from([0.05, 0.08, 0.1]))
@settings(max_examples=50, deadline=None)
def test_auc_exact_matches_fine_trapezoid(errors, a):
    x = np.linspace(0, a, 20001)  # SBR integrates a 2000-point trapezoid; finer here for a tight check
    trap = np.trapezoid(M.ced(errors, x), x) / a
    assert M.auc(errors, a) == pytest.approx(trap, abs=1e-4)
    assert 0.0 <= M.auc(errors, a) <= 1.0


@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 2)))
@settings(max_examples=50, deadline=None)
def test_ced_non_decreasing_in_unit_interval(errors):
    c = M.ced(errors, np.linspace(0, 1, 101))
    assert (np.diff(c) >= 0).all()
    assert ((c >= 0) & (c <= 1)).all()
    assert M.failure_rate(errors, 0.08) == pytest.approx(1 - M.ced(errors, [0.08])[0])


@given(st.integers(0, 2**31), st.sampled_from(M.NORMS))
@settings(max_examples=30, deadline=None)
def test_nme_zero_for_perfect_prediction(seed, norm):
    _, gt = _random_faces(seed)
    np.testing.assert_array_equal(M.nme(gt.copy(), gt, norm=norm), 0.0)


@given(
    st.integers(0, 2**31),
    st.floats(-500, 500), st.floats(-500, 500),  # translation
    st.floats(0.05, 20),  # scale
    st.floats(-np.pi, np.pi),  # rotation
    st.sampled_from([68, 51, 49]),
)
@settings(max_examples=40, deadline=None)
def test_nme_invariant_to_similarity_of_both(seed, tx, ty, s, theta, points):
    pred, gt = _random_faces(seed)
    r = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])

    def sim(x, rotate=True):
        return s * (x @ (r.T if rotate else np.eye(2))) + [tx, ty]

    # eye-based normalisers are invariant to any similarity; box-based ones to translation and scale only
    # (a rotated landmark box is a different box)
    for norm in ("inter_ocular", "inter_pupil"):
        np.testing.assert_allclose(M.nme(sim(pred), sim(gt), norm, points), M.nme(pred, gt, norm, points),
                                   rtol=1e-9, atol=1e-12)
    for norm in ("box", "diagonal"):
        np.testing.assert_allclose(M.nme(sim(pred, False), sim(gt, False), norm, points),
                                   M.nme(pred, gt, norm, points), rtol=1e-9, atol=1e-12)


@given(st.integers(0, 2**31), st.floats(0, 50), st.sampled_from(M.NORMS))
@settings(max_examples=30, deadline=None)
def test_nme_equivariant_to_scaling_the_error(seed, k, norm):
    pred, gt = _random_faces(seed)
    scaled = gt + k * (pred - gt)
    np.testing.assert_allclose(M.nme(scaled, gt, norm), k * M.nme(pred, gt, norm), rtol=1e-9, atol=1e-12)


def test_motion_error_and_jitter_hand_computed():
    gt = np.repeat(_face()[None], 4, axis=0)  # a still face, inter-ocular 10
    pred = gt.copy()
    pred[:, :, 0] += np.arange(4)[:, None] * 1.0  # drifts 1 px per frame
    np.testing.assert_allclose(M.motion_error(pred, gt), [0.1, 0.1, 0.1])
    np.testing.assert_allclose(M.jitter(pred, gt), [0.0, 0.0])  # constant velocity: no jitter
    # the same drift in the GT too: the motion is right
    np.testing.assert_allclose(M.motion_error(pred, pred), 0.0, atol=1e-12)
    zigzag = gt.copy()
    zigzag[:, :, 1] += np.array([0, 1, 0, 1])[:, None]
    np.testing.assert_allclose(M.jitter(zigzag, gt), [0.2, 0.2])  # |0 - 2 + 0| = 2 px, / 10
    np.testing.assert_allclose(M.motion_error(zigzag, gt), [0.1, 0.1, 0.1])
    # jitter on the 49-point set ignores the jaw
    jaw = gt.copy()
    jaw[:, :17, 1] += np.array([0, 1, 0, 1])[:, None]
    np.testing.assert_allclose(M.jitter(jaw, gt, points=49), 0.0)
    np.testing.assert_allclose(M.jitter(jaw, gt, points=68), 0.2 * 17 / 68)


def test_point_set_errors():
    with pytest.raises(ValueError, match="unknown point set"):
        M.point_indices(50)
    assert len(M.point_indices(49)) == 49 and len(M.point_indices(None)) == 68


def test_landmark_box_size_is_the_extent_over_the_points():
    rng = np.random.default_rng(5)
    gt = rng.uniform(-50, 400, (3, 4, 68, 2))
    gt[1, 2, 7, 0] = np.nan  # propagates, as a min/max over the points axis does
    want = gt.max(axis=-2) - gt.min(axis=-2)  # the definition, exact: min/max do not round
    np.testing.assert_array_equal(M.landmark_box_size(gt), want)
    assert np.isnan(M.landmark_box_size(gt)[1, 2, 0]) and not np.isnan(M.landmark_box_size(gt)[1, 2, 1])


def test_ldeq_flicker_hand_computed():
    # GT spans 256 px in x and 64 px in y: LDEQ's face scale sqrt(256 * 64 / 256^2) = 0.5
    g0 = np.stack([np.linspace(0, 256, 68), np.tile([0.0, 64.0], 34)], axis=1)
    gt = np.stack([g0, g0 + 1.0, g0 + 2.0])  # the face moves; only the error's change counts
    np.testing.assert_allclose(M.ldeq_face_scale(gt), 0.5)
    pred = gt.copy()
    pred[1] -= [3.0, 4.0]  # frame 1: every point's error changes by 5 px -> 100 * 5 / 0.5 = 1000
    pred[2] = pred[2] - [3.0, 4.0]
    pred[2, 34:] -= [6.0, 8.0]  # frame 2: half the points' errors change by 10 px (2000), half by 0
    f = M.flicker(pred, gt)
    np.testing.assert_allclose(f, [1000.0, np.sqrt(2000.0 ** 2 / 2)])  # RMS over points
    assert M.nmf(pred, gt) == pytest.approx(np.sqrt((1000.0 ** 2 + 2000.0 ** 2 / 2) / 2))  # RMS over frames
    assert M.nmf(gt + [5.0, -2.0], gt) == pytest.approx(0.0, abs=1e-9)  # a constant offset does not flicker
