from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from redbench import metrics as M
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, CompareError, run_compare

from .conftest import write_method


def _cfg(root, shards, methods=("good", "bad"), **kw) -> CompareConfig:
    return CompareConfig(methods=methods, datasets=("300vw",), predictions_dir=str(root / "predictions"),
                         shards_dir=str(shards), out_dir=str(root / "results"), reference_method="good",
                         bootstrap=BootstrapConfig(resamples=100), **kw)


def test_scores_match_hand_computed_values(world, fake_shards):
    root, gt = world
    shift = gt.landmarks.copy()
    shift[..., 0] += 2.0  # every point 2 px off: NME = 2 / inter-ocular distance of each frame
    write_method(root, gt, "shifted", shift)
    entries, scores = run_compare(_cfg(root, fake_shards, methods=("good", "shifted")))
    e = entries["300vw"]
    io = M.normaliser(gt.landmarks, "inter_ocular")
    want = np.mean(2.0 / io)
    got = e["methods"]["shifted"]["metrics"]["nme"]
    assert got["value"] == pytest.approx(want)
    assert got["ci"][0] <= want <= got["ci"][1]
    # video-averaged: mean over the 4 clips of the clip means
    codes, _ = gt.clip_codes()
    clip_means = [np.mean((2.0 / io)[codes == c]) for c in range(codes.max() + 1)]
    assert e["methods"]["shifted"]["metrics"]["nme/video"]["value"] == pytest.approx(np.mean(clip_means))
    # a constant offset moves exactly with the GT: no motion error, jitter equal to the GT's own
    assert e["methods"]["shifted"]["metrics"]["motion"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert e["methods"]["shifted"]["metrics"]["jitter"]["value"] == pytest.approx(e["ground_truth"]["jitter"]["value"])
    assert e["methods"]["shifted"]["metrics"]["auc@0.08"]["value"] == pytest.approx(M.auc(2.0 / io, 0.08))
    assert e["n_frames"] == len(gt) == 32 and e["n_clips"] == 4
    assert e["data_source"] == "synthetic" and e["box_protocol"] == "gt"
    assert e["coverage"]["dropped_frames"] == 0
    # the category breakdown covers every frame once
    groups = e["breakdowns"]["subset"]["groups"]
    assert sum(g["n_frames"] for g in groups.values()) == 32
    assert set(groups) <= {"category1", "category2", "category3"}
    assert len(scores["300vw"].values["shifted"]["nme"]) == 32


def test_ranks_the_better_method_first_with_a_paired_test(world, fake_shards):
    root, _ = world
    entries, _ = run_compare(_cfg(root, fake_shards))
    e = entries["300vw"]
    good, bad = (e["methods"][m]["metrics"]["nme"]["value"] for m in ("good", "bad"))
    assert good < bad
    (t,) = [t for t in e["paired_tests"] if t["metric"] == "nme"]
    assert (t["a"], t["b"], t["n_clips"]) == ("good", "bad", 4)
    assert t["diff"]["value"] == pytest.approx(good - bad)
    assert t["diff"]["ci"][1] < 0
    assert t["wilcoxon_p"] == pytest.approx(0.125)  # 4 of 4 clips better: the exact two-sided p = 2 / 2**4


def test_refuses_mismatched_frame_sets(world, fake_shards):
    root, gt = world
    rows = np.arange(len(gt) - 3)  # "partial" lacks the last 3 frames
    write_method(root, gt, "partial", gt.landmarks[rows], rows=rows)
    with pytest.raises(CompareError, match=r"(?s)--intersect.*partial/300vw\.h5: lacks 3 frame\(s\)") as e:
        run_compare(_cfg(root, fake_shards, methods=("good", "partial")))
    assert gt.clip_ids[-1] in str(e.value)  # names an example key


def test_refuses_frames_not_in_the_test_shards(world, fake_shards):
    root, gt = world
    from redbench.benchmark.store import PredictionMeta, write_predictions

    meta = PredictionMeta("alien", "1", "c", "t", "gt", "300vw", "synthetic", gt.manifest_sha256, 0.0)
    ids = np.concatenate([gt.clip_ids, ["300vw/999"]])
    idx = np.concatenate([gt.frame_indices, [0]])
    write_predictions(root / "predictions/alien/300vw.h5", meta, ids, idx, np.concatenate([gt.landmarks, gt.landmarks[:1]]))
    with pytest.raises(CompareError, match=r"1 frame\(s\) not in the test shards \(e\.g\. 300vw/999#0\)"):
        run_compare(_cfg(root, fake_shards, methods=("good", "alien")))


def test_intersect_scores_common_frames_and_reports_the_drop(world, fake_shards):
    root, gt = world
    rows = np.arange(3, len(gt))
    write_method(root, gt, "partial", gt.landmarks[rows] + 1.0, rows=rows)
    cfg = dataclasses.replace(_cfg(root, fake_shards, methods=("good", "partial")), intersect=True)
    entries, scores = run_compare(cfg)
    cov = entries["300vw"]["coverage"]
    assert cov["n_scored_frames"] == len(gt) - 3 and cov["dropped_frames"] == 3
    assert cov["dropped_by_method"] == {"good": 3, "partial": 0}
    assert entries["300vw"]["n_frames"] == len(gt) - 3
    # the scored frames are exactly the common ones
    sc = scores["300vw"]
    assert set(zip(sc.gt.clip_ids, sc.gt.frame_indices)) == set(zip(gt.clip_ids[rows], gt.frame_indices[rows]))
    want = M.nme(gt.landmarks[rows] + 1.0, gt.landmarks[rows]).mean()
    assert entries["300vw"]["methods"]["partial"]["metrics"]["nme"]["value"] == pytest.approx(want)


@pytest.mark.parametrize("field,value,message", [
    ("box_protocol", "detector", "box_protocol differs"),
    ("test_manifest_hash", "0" * 64, "test_manifest_hash should be"),
    ("data_source", "real", "data_source should be 'synthetic'"),
])
def test_refuses_mismatched_protocol(world, fake_shards, field, value, message):
    root, gt = world
    write_method(root, gt, "other", gt.landmarks, **{field: value})
    with pytest.raises(CompareError, match=message):
        run_compare(_cfg(root, fake_shards, methods=("good", "other")))


def test_missing_prediction_file(world, fake_shards):
    root, _ = world
    with pytest.raises(CompareError, match=r"missing prediction file.*nothere/300vw\.h5"):
        run_compare(_cfg(root, fake_shards, methods=("good", "nothere")))
