"""FHR's metrics and the interval rules through `compare`: metrics.json keys, leaderboard columns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, compare_and_write

from .conftest import write_method


def _lagged(gt) -> np.ndarray:
    """Each clip's GT one frame late (the first frame of a clip keeps its own GT)."""
    out = gt.landmarks.copy()
    same = gt.clip_ids[1:] == gt.clip_ids[:-1]
    out[1:][same] = gt.landmarks[:-1][same]
    return out


@pytest.fixture()
def results(world, fake_shards):
    root, gt = world
    write_method(root, gt, "late", _lagged(gt))
    write_method(root, gt, "exact", gt.landmarks.copy())
    cfg = CompareConfig(methods=("good", "late", "exact"), datasets=("300vw",),
                        predictions_dir=str(root / "predictions"), shards_dir=str(fake_shards),
                        out_dir=str(root / "results"), reference_method="good",
                        bootstrap=BootstrapConfig(resamples=100))
    res, _ = compare_and_write(cfg, "hash", plots=False)
    return root, gt, res


def test_fhr_metrics_sit_beside_the_others_video_averaged(results):
    root, gt, res = results
    m = res["datasets"]["300vw"]["methods"]
    late, exact = m["late"]["metrics"], m["exact"]["metrics"]
    assert late["fhr_delay"]["value"] == pytest.approx(1.0)  # one frame late in every clip
    assert exact["fhr_delay"]["value"] == pytest.approx(0.0)
    assert exact["fhr_rmse"]["value"] == 0.0 and exact["fhr_sta1"]["value"] is not None
    assert m["good"]["metrics"]["fhr_rmse"]["value"] > 0
    # the bare key is FHR's per-video-then-over-videos mean; the frame-pooled one is kept beside it
    assert "fhr_sta2/pooled" in late and "fhr_sta2/video" not in late and "nme/video" in late
    assert res["definitions"]["fhr_delay"]["pooling"].startswith("per video")
    summary = json.loads((root / "results" / "summary.json").read_text())
    assert summary["synthetic/300vw/late/fhr_delay"] == pytest.approx(1.0)


def test_leaderboard_shows_fhr_columns(results):
    root, _, _ = results
    md = (root / "results" / "leaderboard.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| method | NME"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    i = cols.index("FHR delay (frames, video-avg)")
    late = next(line for line in md.splitlines() if line.startswith("| late |"))
    assert [c.strip() for c in late.strip("|").split("|")][i] == "1.00"  # the same lag in every frame
    assert "FHR sta2 (% face, video-avg)" in cols


def test_few_clips_get_frame_block_intervals_and_say_so(results):
    _, _, res = results
    e = res["datasets"]["300vw"]  # 4 test clips < min_clips 5
    assert "moving-block" in e["uncertainty"]["method"]
    nme = e["methods"]["good"]["metrics"]["nme"]
    assert nme["ci"][0] < nme["value"] < nme["ci"][1] and nme["block_length"] >= 1
    for kind in e["breakdowns"].values():
        for g in kind["groups"].values():
            assert g["intervals"] in ("clips", "frame_blocks")
            for rec in g["methods"].values():
                lo, hi = rec["nme"]["ci"]
                assert lo is None or hi > lo  # never a zero-width interval
