"""compare with several training seeds per method and several box protocols (benchmark/layout.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from redbench.benchmark import metrics as M
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, CompareError, compare_and_write, owned_by_compare
from redbench.benchmark.layout import LayoutError, headline_store, protocol_roots, seed_stores
from redbench.benchmark.lost_face import LostFaceConfig, loss_runs, lost_face
from redbench.benchmark.store import PredictionMeta, write_predictions


def _write(root, gt, rel: str, method: str, landmarks, box_protocol: str = "gt"):
    meta = PredictionMeta(method=method, method_version="1", config_hash="cfg", train_data_hash="train",
                          box_protocol=box_protocol, dataset="300vw", data_source=gt.data_source,
                          test_manifest_hash=gt.manifest_sha256, seconds_per_frame=0.002)
    write_predictions(root / "predictions" / rel / "300vw.h5", meta, gt.clip_ids, gt.frame_indices, landmarks)


def _cfg(root, shards, **kw) -> CompareConfig:
    return CompareConfig(methods=("good", "bad"), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                         shards_dir=str(shards), out_dir=str(root / "results"), reference_method="good",
                         bootstrap=BootstrapConfig(resamples=200), **kw)


def test_seed_stores_and_headline(tmp_path):
    for rel in ("m/300vw.h5", "m/seed-1/300vw.h5", "m/seed-3/300vw.h5", "m/seed-x/300vw.h5", "n/seed-2/300vw.h5"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    got = seed_stores(tmp_path, "m", "300vw", train_seed=0)
    assert got == {0: tmp_path / "m/300vw.h5", 1: tmp_path / "m/seed-1/300vw.h5", 3: tmp_path / "m/seed-3/300vw.h5"}
    # the top-level file is train.seed's unless that seed has its own folder
    assert seed_stores(tmp_path, "m", "300vw", train_seed=3)[3] == tmp_path / "m/seed-3/300vw.h5"
    assert headline_store(tmp_path, "m", "300vw", got) == tmp_path / "m/300vw.h5"
    only = seed_stores(tmp_path, "n", "300vw", 0)
    assert headline_store(tmp_path, "n", "300vw", only) == tmp_path / "n/seed-2/300vw.h5"
    assert seed_stores(tmp_path, "absent", "300vw", 0) == {}
    (tmp_path / "box-tracking").mkdir()
    assert protocol_roots(tmp_path, ("gt", "tracking")) == {"tracking": tmp_path / "box-tracking"}
    (tmp_path / "box-oracle").mkdir()
    with pytest.raises(LayoutError, match="box-oracle: unknown box protocol 'oracle'"):
        protocol_roots(tmp_path, ("gt", "tracking"))


def test_loss_runs_hand_computed():
    # clip 0: 3 frames above (a loss at min 3) then back below; clip 1: above to its last frame; clip 2: 2 above
    nme = np.array([0.1, 0.3, 0.4, 0.5, 0.1, 0.2, 0.3, 0.3, 0.3, 0.1, 0.6, 0.6])
    codes = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    starts, lengths, recovered = loss_runs(nme, codes, 0.25, 3)
    assert starts.tolist() == [1, 6] and lengths.tolist() == [3, 3] and recovered.tolist() == [True, False]
    out = lost_face({"m": {"nme": nme}}, codes, LostFaceConfig(threshold=0.25, min_frames=3))["methods"]["m"]
    assert out == {"n_clips": 3, "clips_lost": 2, "losses": 2, "recovered": 1, "frames_lost_fraction": 6 / 12}
    assert loss_runs(np.array([0.3, np.nan, 0.3]), np.zeros(3), 0.25, 2)[0].tolist() == []  # NaN ends a run


def test_several_seeds_give_the_hierarchical_view_and_leave_the_rest_unchanged(world, fake_shards):
    root, gt = world
    cfg = _cfg(root, fake_shards)
    before, _ = compare_and_write(cfg, "h", plots=False, train_seed=0)
    summary = (root / "results" / "summary.json").read_bytes()
    assert "seeds" not in before["datasets"]["300vw"] and "protocols" not in before
    rng = np.random.default_rng(9)
    stores = {"good": {}, "bad": {}}
    for m, sd in (("good", 1.0), ("bad", 3.0)):
        for seed in (1, 2):
            lm = gt.landmarks + rng.normal(0, sd, gt.landmarks.shape) + rng.normal(0, 0.3)
            _write(root, gt, f"{m}/seed-{seed}", m, lm)
            stores[m][seed] = lm
        _write(root, gt, f"box-tracking/{m}", m, gt.landmarks + rng.normal(0, sd, gt.landmarks.shape), "tracking")
    results, written = compare_and_write(cfg, "h", plots=False, train_seed=0)
    assert (root / "results" / "summary.json").read_bytes() == summary  # the headline stores' numbers, as before
    seeds = results["datasets"]["300vw"]["seeds"]
    good = seeds["methods"]["good"]
    assert good["seeds"] == [0, 1, 2]
    want = [results["datasets"]["300vw"]["methods"]["good"]["metrics"]["nme"]["value"]]  # seed 0: the top file
    want += [float(np.mean(M.nme(stores["good"][s], gt.landmarks))) for s in (1, 2)]
    np.testing.assert_allclose(good["nme"], want, rtol=1e-12)
    assert good["mean"]["value"] == pytest.approx(np.mean(want))
    assert good["mean"]["ci"][0] < np.mean(want) < good["mean"]["ci"][1]
    (test,) = seeds["tests"]
    assert (test["a"], test["b"], test["n_seeds_a"], test["n_seeds_b"]) == ("good", "bad", 3, 3)
    assert test["diff"]["value"] == pytest.approx(good["mean"]["value"] - seeds["methods"]["bad"]["mean"]["value"])
    assert test["diff"]["ci"][1] < 0 and test["verdict"] == "better"  # 1 px noise against 3 px
    assert seeds["n_identities"] == 4 and seeds["n_clips"] == 4
    # the tracking stores: their own results folder, and their NME beside the gt one in the main leaderboard
    tracking = json.loads((root / "results" / "box-tracking" / "metrics.json").read_text())
    assert tracking["datasets"]["300vw"]["box_protocol"] == "tracking"
    assert results["protocols"]["tracking"]["datasets"]["300vw"]["bad"] == \
        tracking["datasets"]["300vw"]["methods"]["bad"]["metrics"]["nme"]
    assert root / "results" / "box-tracking" / "leaderboard.md" in written
    board = (root / "results" / "leaderboard.md").read_text()
    assert "NME by box protocol" in board and "verdicts over seeds and people" in board
    assert "lost faces under tracking" in (root / "results" / "box-tracking" / "leaderboard.md").read_text()
    compare_and_write(cfg, "h", plots=False, train_seed=0)  # its own box-* folders are replaced, not refused


def test_a_seed_store_on_other_frames_is_refused(world, fake_shards):
    root, gt = world
    rows = np.arange(len(gt) - 1)
    meta = PredictionMeta(method="bad", method_version="1", config_hash="cfg", train_data_hash="train",
                          box_protocol="gt", dataset="300vw", data_source=gt.data_source,
                          test_manifest_hash=gt.manifest_sha256, seconds_per_frame=0.002)
    write_predictions(root / "predictions" / "bad" / "seed-4" / "300vw.h5", meta, gt.clip_ids[rows],
                      gt.frame_indices[rows], gt.landmarks[rows])
    with pytest.raises(CompareError, match="lacks 1 frame|covers other frames"):
        compare_and_write(_cfg(root, fake_shards), "h", plots=False, train_seed=0)
    assert not (root / "results").exists()  # nothing half-written


def test_compare_owns_the_protocol_files_its_metrics_json_lists(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"outputs": ["metrics.json", "box-tracking/metrics.json", "box-detector/plots/ced_300vw.png"]}))
    owned = owned_by_compare(tmp_path)
    assert owned("box-tracking/metrics.json") and owned("box-detector/plots/ced_300vw.png")
    assert not owned("box-tracking/notes.txt") and not owned("mine/metrics.json")


def test_a_protocol_folder_of_other_boxes_is_refused(world, fake_shards):
    root, gt = world
    _write(root, gt, "box-tracking/good", "good", gt.landmarks, box_protocol="gt")  # gt boxes in the tracking folder
    with pytest.raises(CompareError, match="box-tracking: holds predictions made under another box protocol"):
        compare_and_write(_cfg(root, fake_shards), "h", plots=False, train_seed=0)
    assert not (root / "results").exists()
