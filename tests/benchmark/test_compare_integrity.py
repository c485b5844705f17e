"""Nothing wrong is scored, nothing is half-written: compare verifies the ground truth it scores and swaps
its results folder in whole."""

from __future__ import annotations

import dataclasses
import json
import shutil

import h5py
import numpy as np
import pytest

from redbench._io import ForeignFilesError, sha256_file
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, compare_and_write
from redbench.benchmark.ground_truth import GroundTruthError
from redbench.datasets.shards import ShardError


def _cfg(root, shards) -> CompareConfig:
    return CompareConfig(methods=("good", "bad"), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                         shards_dir=str(shards), out_dir=str(root / "results"), reference_method="good",
                         bootstrap=BootstrapConfig(resamples=20))


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def own_shards(world, fake_shards):
    """A private copy of the shards (these tests damage them) and a completed earlier compare."""
    root, _ = world
    shards = root / "shards"
    shutil.copytree(fake_shards, shards)
    compare_and_write(_cfg(root, shards), "hash", plots=False)
    return root, shards, _tree(root / "results")


def _test_shard(shards):
    manifest = json.loads((shards / "300vw" / "manifest.json").read_text())
    (entry,) = [s for s in manifest["shards"] if s["split"] == "test"]
    return shards / "300vw" / entry["path"]


def test_a_shard_changed_after_preprocess_is_not_scored(own_shards):
    root, shards, before = own_shards
    path = _test_shard(shards)
    with h5py.File(path, "r") as f:
        ds = f["landmarks_orig"]
        offset = ds.id.get_offset() if ds.chunks is None else ds.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:  # 8 bytes of plausible floats over the first chunk's landmarks
        f.seek(offset)
        f.write(np.array([17.0, 23.0], dtype=np.float32).tobytes())
    with pytest.raises(ShardError, match=rf"{path.name}: sha256 mismatch"):
        compare_and_write(_cfg(root, shards), "hash", plots=False)
    assert _tree(root / "results") == before  # the earlier complete results, untouched


def test_nan_ground_truth_is_refused_naming_shard_clip_and_frame(own_shards):
    root, shards, before = own_shards
    path = _test_shard(shards)
    with h5py.File(path, "r+") as f:
        lm = f["landmarks_orig"][()]
        lm[9, 3, 0] = np.nan  # the second clip's second frame (8 frames per clip)
        f["landmarks_orig"][...] = lm
        clip = f["clips/clip_id"][1].decode()
        frame = int(f["frame_index"][9])
    # the manifest agrees with the damaged file: a bug in preprocess, not a changed file
    mpath = shards / "300vw" / "manifest.json"
    manifest = json.loads(mpath.read_text())
    for s in manifest["shards"]:
        if s["path"] == path.name:
            s["sha256"], s["bytes"] = sha256_file(path), path.stat().st_size
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(GroundTruthError, match=rf"{path.name}: clip '{clip}' frame {frame}: .*NaN"):
        compare_and_write(_cfg(root, shards), "hash", plots=False)
    assert _tree(root / "results") == before


def test_a_compare_killed_while_writing_leaves_the_previous_results(own_shards, monkeypatch):
    root, shards, before = own_shards
    import redbench.benchmark.leaderboard as leaderboard

    def killed(*a, **k):
        raise KeyboardInterrupt  # what a kill looks like to the writer: nothing after this line runs

    monkeypatch.setattr(leaderboard, "write_leaderboards", killed)
    with pytest.raises(KeyboardInterrupt):
        compare_and_write(_cfg(root, shards), "other hash", plots=False)
    assert _tree(root / "results") == before
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []  # no staging folder left


def test_a_results_folder_with_a_file_compare_did_not_write_is_refused(own_shards):
    root, shards, _ = own_shards
    (root / "results" / "notes.txt").write_text("mine")
    with pytest.raises(ForeignFilesError, match=r"results: holds 1 file\(s\) that compare did not write \(notes\.txt\)"):
        compare_and_write(_cfg(root, shards), "hash", plots=False)
    assert (root / "results" / "notes.txt").read_text() == "mine"
    assert (root / "results" / "metrics.json").exists()


def test_a_rerun_replaces_the_folder_whole(own_shards):
    root, shards, before = own_shards
    compare_and_write(_cfg(root, shards), "hash", plots=False)
    after = _tree(root / "results")
    assert sorted(after) == ["ced.csv", "leaderboard.csv", "leaderboard.html", "leaderboard.md", "leaderboard.tex",
                             "metrics.json", "summary.json"]
    assert json.loads(after["metrics.json"])["outputs"] == sorted(after)
    assert json.loads(after["summary.json"]) == json.loads(before["summary.json"])
    # a stale plot compare did not write is another's file: refused, not deleted
    (root / "results" / "plots").mkdir()
    (root / "results" / "plots" / "ced_tf.png").write_bytes(b"stale plot of another dataset")
    with pytest.raises(ForeignFilesError, match=r"plots/ced_tf\.png"):
        compare_and_write(_cfg(root, shards), "hash", plots=False)


def test_check_refuses_metrics_of_another_protocol(own_shards, tmp_path):
    from redbench._io import write_json_atomic
    from redbench.benchmark.check import check, make_reference
    from redbench.benchmark.results import load_results
    from redbench.benchmark.scoring import ScoringConfig

    root, shards, _ = own_shards
    ref_path = tmp_path / "reference.json"
    write_json_atomic(ref_path, make_reference(load_results(root / "results" / "metrics.json")))
    rows, problems = check(root / "results" / "metrics.json", ref_path)
    assert problems == [] and all(r.status == "ok" for r in rows)
    cfg = dataclasses.replace(_cfg(root, shards), scoring=ScoringConfig(norm="diagonal", thresholds=(0.08, 0.2)))
    compare_and_write(cfg, "hash", plots=False)
    _, problems = check(root / "results" / "metrics.json", ref_path)
    assert "normaliser diagonal != reference's inter_ocular" in problems
    assert "thresholds [0.08, 0.2] != reference's [0.08, 0.1]" in problems
    ref = json.loads(ref_path.read_text())
    ref["protocol"]["box_protocol"]["300vw"] = "detector"
    del ref["protocol"]["points"]
    ref_path.write_text(json.dumps(ref))
    _, problems = check(root / "results" / "metrics.json", ref_path)
    assert "300vw: box protocol gt != reference's detector" in problems
    assert "the reference records no point set" in problems
    del ref["protocol"]
    ref_path.write_text(json.dumps(ref))
    _, problems = check(root / "results" / "metrics.json", ref_path)
    assert any(p.startswith("the reference records no protocol") for p in problems)
