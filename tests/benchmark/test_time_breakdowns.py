"""Breakdowns where time should help (frames since an occluder appeared, face motion) and LDEQ's flicker in
compare."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.benchmark import metrics as M
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.breakdowns import BreakdownConfig, motion_groups, occlusion_age, occlusion_age_groups
from redbench.benchmark.compare import CompareConfig, run_compare
from redbench.benchmark.flicker import flicker_layout
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.results import build_results


def _face(n: int, dx: np.ndarray | None = None) -> np.ndarray:
    """n faces whose outer eye corners (36, 45) are 10 px apart, shifted right by dx (n,) px."""
    f = np.zeros((n, 68, 2))
    f[:, :, 0] = np.linspace(0, 20, 68)
    f[:, :, 1] = np.linspace(0, 30, 68)
    f[:, 36] = [0, 0]
    f[:, 45] = [10, 0]
    return f + (np.zeros(n) if dx is None else dx)[:, None, None] * [1.0, 0.0]


def test_occlusion_age_counts_frames_since_the_episode_began():
    # clip a: frames 0..6 occluded at 1-2, 4-6; clip b: frames 0..2, occluded from its first frame
    ids = ["a"] * 7 + ["b"] * 3
    frames = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2]
    covered = [0, 1, 1, 0, 1, 1, 1, 1, 1, 0]
    occ = np.zeros((10, 68), bool)
    occ[np.flatnonzero(covered), 3] = True
    occ[5, 10:20] = True  # more points covered later in an episode: still the same episode
    gt = make_ground_truth("300vw", "synthetic", "h", ids, frames, _face(10), occluded=occ,
                           occlusion_known=[True] * 9 + [False])
    assert occlusion_age(gt).tolist() == [-1, 0, 1, -1, 0, 1, 2, 0, 1, -1]
    groups, info = occlusion_age_groups(gt, (0, 1, 6, 21))
    assert {k: np.flatnonzero(v).tolist() for k, v in groups.items()} == {
        "none": [0, 3], "0": [1, 4, 7], "1-5": [2, 5, 6, 8], "6-20": [], "21+": []}
    assert info["unknown_frames"] == 1


def test_motion_groups_bin_the_ground_truth_motion_in_inter_ocular_units():
    # one clip, the face moving by 0, 0.05, 0.2, 1.5 px a frame (inter-ocular 10 px: 0, 0.005, 0.02, 0.15)
    dx = np.cumsum([0, 0, 0.05, 0.2, 1.5])
    gt = make_ground_truth("300vw", "synthetic", "h", ["c"] * 5, [0, 1, 2, 3, 4], _face(5, dx))
    groups, info = motion_groups(gt, (0, 0.01, 0.03, 0.1))
    assert {k: np.flatnonzero(v).tolist() for k, v in groups.items()} == {
        "0-0.01": [1, 2], "0.01-0.03": [3], "0.03-0.1": [], "0.1+": [4]}
    assert info["unknown_frames"] == 1  # the clip's first frame has no motion


def test_breakdown_bins_must_start_at_zero_and_increase():
    with pytest.raises(ValueError, match="motion_bins must start at 0"):
        BreakdownConfig(motion_bins=(0.01, 0.1))
    with pytest.raises(ValueError, match="occlusion_age_bins"):
        BreakdownConfig(occlusion_age_bins=(0, 5, 5))


def test_flicker_layout_roots_the_squared_key():
    got = flicker_layout({"nme": {"value": 0.1, "ci": [0.09, 0.11]},
                          "nmf_sq": {"value": 4.0, "ci": [1.0, 9.0], "block_length": 3},
                          "nmf_sq/video": {"value": 16.0, "ci": [None, None]}})
    assert got == {"nme": {"value": 0.1, "ci": [0.09, 0.11]},
                   "nmf": {"value": 2.0, "ci": [1.0, 3.0], "block_length": 3},
                   "nmf/video": {"value": 4.0, "ci": [None, None]}}


def test_compare_reports_flicker_and_the_time_breakdowns(world, fake_shards):
    root, gt = world
    cfg = CompareConfig(methods=("good", "bad"), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                        shards_dir=str(fake_shards), out_dir=str(root / "results"), reference_method="good",
                        bootstrap=BootstrapConfig(resamples=50))
    entries, scores = run_compare(cfg, paired_tests=False)
    results = build_results(entries, cfg, "hash")
    e = results["datasets"]["300vw"]
    codes, _ = gt.clip_codes()
    from redbench.benchmark.store import read_predictions

    p = read_predictions(root / "predictions" / "bad" / "300vw.h5")
    order = np.lexsort((p.frame_indices, p.clip_ids))
    pred = p.landmarks[order]
    per_clip = [M.flicker(pred[codes == c], gt.landmarks[codes == c]) for c in range(codes.max() + 1)]
    pooled = np.sqrt(np.mean(np.concatenate(per_clip) ** 2))  # LDEQ's RMS over every frame with a previous one
    got = e["methods"]["bad"]["metrics"]
    assert got["nmf"]["value"] == pytest.approx(pooled)
    assert got["nmf/video"]["value"] == pytest.approx(np.sqrt(np.mean([np.mean(f ** 2) for f in per_clip])))
    assert got["nmf"]["ci"][0] < pooled < got["nmf"]["ci"][1] and "nmf_sq" not in got
    assert got["nmf"]["value"] > e["methods"]["good"]["metrics"]["nmf"]["value"]  # 3 px noise flickers more
    motion = e["breakdowns"]["motion"]
    assert sum(g["n_frames"] for g in motion["groups"].values()) == len(gt) - (codes.max() + 1)  # all but firsts
    assert "occlusion_age" in e["breakdowns"] and "nmf" in results["definitions"]
