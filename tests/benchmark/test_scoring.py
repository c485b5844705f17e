from __future__ import annotations

import numpy as np
import pytest

from redbench.benchmark.breakdowns import BreakdownConfig, breakdowns, occlusion_groups, yaw_groups
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.ground_truth import GroundTruthError, load_ground_truth, make_ground_truth
from redbench.benchmark.scoring import ScoringConfig, frame_values, stability_masks


def _face(n: int) -> np.ndarray:
    g = np.zeros((n, 68, 2))
    g[:, :, 0] = np.linspace(0, 10, 68)
    g[:, :, 1] = np.linspace(0, 4, 68) ** 2
    g[:, 36] = [0, 0]
    g[:, 45] = [10, 0]  # inter-ocular 10
    return g


def test_stability_masks_respect_clips_and_gaps():
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    frames = np.array([0, 1, 2, 5, 6, 0, 1, 3])  # clip 2 has a gap between 1 and 3
    prev, both = stability_masks(codes, frames)
    np.testing.assert_array_equal(prev, [0, 1, 1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(both, [0, 1, 0, 0, 0, 0, 0, 0])


def test_frame_values_hand_computed():
    n = 5
    g = _face(n)
    pred = g.copy()
    pred[:, :, 0] += np.array([0, 1, 0, 1, 0])[:, None]  # zigzag of 1 px
    gt = make_ground_truth("300vw", "synthetic", "h", ["a", "a", "a", "b", "b"], [0, 1, 2, 0, 1], g,
                           unreliable=[False, True, False, False, False],
                           occluded=np.tile(np.arange(68) < 2, (n, 1)), occlusion_known=[1, 1, 1, 1, 0])
    codes, _ = gt.clip_codes()
    v = frame_values(pred, gt, ScoringConfig(), codes)
    np.testing.assert_allclose(v["nme"], [0, 0.1, 0, 0.1, 0])
    np.testing.assert_allclose(v["nme_clean"], [0, np.nan, 0, 0.1, 0])
    np.testing.assert_allclose(v["auc@0.08"], [1, 0, 1, 0, 1])
    np.testing.assert_allclose(v["fr@0.1"], 0.0)  # 0.1 is not > 0.1
    np.testing.assert_allclose(v["motion"], [np.nan, 0.1, 0.1, np.nan, 0.1])
    np.testing.assert_allclose(v["jitter"], [np.nan, 0.2, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(v["nme_visible"], [0, 0.1, 0, 0.1, np.nan])  # frame 4: occlusion unknown
    np.testing.assert_allclose(v["nme_occluded"], [0, 0.1, 0, 0.1, np.nan])
    np.testing.assert_allclose(v["group/eyes"], [0, 0.1, 0, 0.1, 0])
    assert "nme[inter_pupil,49]" in v and "nme[box,51]" in v


def test_scoring_config_refuses_unknown_values():
    with pytest.raises(ValueError, match="norm"):
        ScoringConfig(norm="face")
    with pytest.raises(ValueError, match="point set"):
        ScoringConfig(points=50)
    with pytest.raises(ValueError, match="thresholds"):
        ScoringConfig(thresholds=(0.0,))


def test_yaw_bins_fall_back_to_pnp_and_say_so():
    n = 6
    pose = np.full((n, 3), np.nan)
    pose[:4, 0] = [0, -15, 44.9, 120]  # source pose where known
    pnp = np.zeros((n, 3))
    pnp[:, 0] = [99, 99, 99, 99, -61, np.nan]
    gt = make_ground_truth("300vw", "synthetic", "h", [f"c{i}" for i in range(n)], np.zeros(n), _face(n),
                           pose=pose, pose_pnp=pnp)
    groups, info = yaw_groups(gt, (0, 15, 30, 45, 60, 90))
    assert info["yaw_source_frames"] == {"pose": 4, "pose_pnp": 1, "unknown": 1}
    got = {k: np.flatnonzero(v).tolist() for k, v in groups.items()}
    # rows are sorted by clip id c0..c5, so row i is frame i here
    assert got == {"0-15": [0], "15-30": [1], "30-45": [2], "45-60": [], "60-90": [3, 4]}


def test_occlusion_levels():
    n = 4
    occ = np.zeros((n, 68), bool)
    occ[1, :1] = occ[2, :9] = occ[3, :10] = True
    gt = make_ground_truth("x", "synthetic", "h", ["a", "b", "c", "d"], np.zeros(n), _face(n), occluded=occ,
                           occlusion_known=[True] * 4)
    groups, info = occlusion_groups(gt, 10)
    assert {k: np.flatnonzero(v).tolist() for k, v in groups.items()} == {
        "none": [0], "some (1-9)": [1, 2], "heavy (>=10)": [3]}
    assert info["unknown_frames"] == 0


def test_breakdowns_in_threads_are_the_same(fake_shards):
    from concurrent.futures import ThreadPoolExecutor

    gt = load_ground_truth(fake_shards / "300vw")
    codes, _ = gt.clip_codes()
    rng = np.random.default_rng(0)
    values = {m: frame_values(gt.landmarks + rng.normal(0, 1 + k, gt.landmarks.shape), gt, ScoringConfig(), codes)
              for k, m in enumerate(("a", "b"))}
    args = (values, gt, codes, ["nme", "auc@0.08", "fr@0.08"], BreakdownConfig(), BootstrapConfig(resamples=50))
    with ThreadPoolExecutor(2) as pool:
        threaded = breakdowns(*args, pool)
    alone = breakdowns(*args)
    assert threaded == alone  # the same groups, in the same order, with the same intervals
    assert list(threaded) == list(alone) and list(threaded["subset"]["groups"]) == list(alone["subset"]["groups"])
    assert threaded["subset"]["groups"]["category1"]["methods"]["b"]["nme"]["ci"][0] is not None


def test_breakdown_values_per_group(fake_shards):
    gt = load_ground_truth(fake_shards / "300vw")
    codes, _ = gt.clip_codes()
    pred = gt.landmarks + np.where(gt.subset == "category1", 2.0, 0.0)[:, None, None]
    values = {"m": frame_values(pred, gt, ScoringConfig(), codes)}
    out = breakdowns(values, gt, codes, ["nme", "auc@0.08", "fr@0.08"], BreakdownConfig(), BootstrapConfig(resamples=50))
    sub = out["subset"]["groups"]
    assert sub["category2"]["methods"]["m"]["nme"]["value"] == 0.0
    c1 = gt.subset == "category1"
    want = np.mean(np.hypot(2, 2) / np.linalg.norm(gt.landmarks[c1, 36] - gt.landmarks[c1, 45], axis=-1))
    assert sub["category1"]["methods"]["m"]["nme"]["value"] == pytest.approx(want)
    assert set(out) == {"subset", "frames", "yaw", "occlusion", "occlusion_age", "motion", "identity", "landmark_group",
                        "point_visibility"}
    assert out["frames"]["groups"]["all"]["n_frames"] == len(gt)
    lg = out["landmark_group"]["groups"]
    assert set(lg) == {"jaw", "brows", "nose", "eyes", "mouth"}


def test_load_ground_truth_reads_test_frames_sorted(fake_shards):
    gt = load_ground_truth(fake_shards / "300vw")
    assert len(gt) == 32 and gt.landmarks.shape == (32, 68, 2) and gt.landmarks.dtype == np.float64
    keys = list(zip(gt.clip_ids.tolist(), gt.frame_indices.tolist()))
    assert keys == sorted(keys)
    assert set(gt.subset) <= {"category1", "category2", "category3"}
    rows, found = gt.rows_of(np.array([gt.clip_ids[5], "nope", gt.clip_ids[0]]),
                             np.array([gt.frame_indices[5], 0, 99]))
    assert found.tolist() == [True, False, False] and rows[0] == 5
    with pytest.raises(FileNotFoundError):
        load_ground_truth(fake_shards / "absent")


def test_degenerate_ground_truth_is_refused():
    g = _face(2)
    g[1, 45] = g[1, 36]  # outer eye corners coincide: inter-ocular 0
    gt = make_ground_truth("300w", "synthetic", "h", ["a", "b"], [0, 0], g)
    codes, _ = gt.clip_codes()
    with pytest.raises(GroundTruthError, match="clip b frame 0 has inter_ocular normaliser 0.0"):
        frame_values(g, gt, ScoringConfig(), codes)
