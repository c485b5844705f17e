"""Hostile input, round two: each test reproduces one finding of the probe list (numbered as found) on a small
fake world, and fails on the code before its fix.

1 a store written under another method's name; 3 a frame index of 2**62; 4 the training seed; 5 a complex
.mat; 7 an output over an input (more below, per group).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench.benchmark.ground_truth import load_ground_truth
from redbench.benchmark.store import read_predictions
from redbench.cli import main


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("hostile")
    make_fake_shards(root / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=32, seed=4)
    return root / "shards"


@pytest.fixture()
def work(tmp_path, shards) -> Path:
    params = {"compare": {"shards_dir": str(shards), "predictions_dir": str(tmp_path / "predictions"),
                          "out_dir": str(tmp_path / "results"), "datasets": ["300vw"],
                          "bootstrap": {"resamples": 20}},
              "train": {"datasets": ["300vw"], "seed": 0},
              "methods": {"mean_shape": {"max_frames": 100}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def run(root: Path, *args: str):
    return CliRunner().invoke(main, ["-q", "--params", str(root / "params.yaml"), *args])


def write_csv(path: Path, gt, offset: float = 2.0) -> Path:
    header = ["clip_id", "frame_index"] + [f"{a}{i}" for i in range(68) for a in "xy"]
    rows = [",".join(header)]
    for c, f, p in zip(gt.clip_ids, gt.frame_indices, gt.landmarks + [offset, 0.0]):
        rows.append(",".join([c, str(int(f)), *(f"{v:.6f}" for v in p.reshape(-1))]))
    path.write_text("\n".join(rows) + "\n")
    return path


def train_and_predict(root: Path, shards: Path, method: str = "mean_shape", *extra: str):
    r = run(root, "train", method, "--shards-dir", str(shards), "--out", str(root / "models" / method), *extra)
    assert r.exit_code == 0, r.output
    return run(root, "predict", method, "300vw", "--shards-dir", str(shards), "--models-dir", str(root / "models"),
               "--out", str(root / "predictions" / method / "300vw.h5"))


# -- 1: a number under the wrong name ------------------------------------------------------------------------

def test_1_import_refuses_to_overwrite_another_methods_store(work, shards):
    gt = load_ground_truth(shards / "300vw")
    assert train_and_predict(work, shards).exit_code == 0
    store = work / "predictions" / "mean_shape" / "300vw.h5"
    before = store.read_bytes()
    r = run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "foo",
            "--out", str(store))
    assert r.exit_code == 1 and "holds the predictions of method 'mean_shape', not 'foo'" in r.output
    assert store.read_bytes() == before
    # predict under another method's name is refused the same way
    r = run(work, "predict", "mean_shape+smooth", "300vw", "--shards-dir", str(shards), "--models-dir",
            str(work / "models"), "--out", str(store))
    assert r.exit_code == 1 and "not 'mean_shape+smooth'" in r.output and store.read_bytes() == before
    # --force writes it; compare then refuses to score foo's numbers as mean_shape's
    r = run(work, "import", "csv", str(work / "pred.csv"), "-d", "300vw", "-m", "foo", "--out", str(store),
            "--force")
    assert r.exit_code == 0, r.output
    r = run(work, "compare", "-m", "mean_shape", "--no-plots", "--bootstrap", "0")
    assert r.exit_code == 1 and "holds the predictions of method 'foo', but is scored as 'mean_shape'" in r.output
    assert not (work / "results").exists()


def test_1_a_rerun_of_the_same_method_replaces_its_own_store(work, shards):
    gt = load_ground_truth(shards / "300vw")
    write_csv(work / "pred.csv", gt)
    for offset in (2.0, 3.0):
        write_csv(work / "pred.csv", gt, offset)
        r = run(work, "import", "csv", str(work / "pred.csv"), "-d", "300vw", "-m", "foo")
        assert r.exit_code == 0, r.output
    stored = read_predictions(work / "predictions" / "foo" / "300vw.h5")
    assert stored.meta.written_by == "redbench import" and stored.meta.train_seed is None
    np.testing.assert_allclose(stored.landmarks[:, :, 0] - gt.landmarks[:, :, 0], 3.0, atol=1e-5)


def test_1_a_legacy_store_is_still_scored_with_a_warning(work, shards, caplog):
    """Stores written before `written_by` and `train_seed` are accepted (their method name is checked)."""
    gt = load_ground_truth(shards / "300vw")
    r = run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "old")
    assert r.exit_code == 0, r.output
    with h5py.File(work / "predictions" / "old" / "300vw.h5", "a") as f:
        del f.attrs["written_by"]
    r = run(work, "compare", "-m", "old", "--no-plots", "--bootstrap", "0")
    assert r.exit_code == 0, r.output
    metrics = json.loads((work / "results" / "metrics.json").read_text())
    assert metrics["seeds"]["train"] == 0  # params train.seed, assumed for the legacy store
    assert any("written before stores recorded their training seed" in m for m in caplog.messages)


# -- 3: a frame index of 2**62 ---------------------------------------------------------------------------------

def test_3_a_huge_frame_index_is_named_not_wrapped(work, shards):
    gt = load_ground_truth(shards / "300vw")
    r = run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "foo")
    assert r.exit_code == 0, r.output
    store = work / "predictions" / "foo" / "300vw.h5"
    with h5py.File(store, "a") as f:
        idx = f["frame_indices"][()]
        idx[3] = 2**62
        f["frame_indices"][...] = idx
    for extra in ((), ("--intersect",)):
        r = run(work, "compare", "-m", "foo", "--no-plots", "--bootstrap", "0", *extra)
        assert r.exit_code == 1, r.output
        assert f"frame index(es) outside 0..{2**31 - 1}, first at row 3" in r.output and str(2**62) in r.output


def test_3_rows_of_does_not_overflow():
    from redbench.benchmark.ground_truth import make_ground_truth

    ids = np.repeat([f"300vw/{k:03d}" for k in range(4)], 5)  # 4 clips x frames 0..4
    gt = make_ground_truth("300vw", "synthetic", "h", ids, np.tile(np.arange(5), 4), np.zeros((20, 68, 2)))
    got, found = gt.rows_of(np.append(ids, ids[0]), np.append(np.tile(np.arange(5), 4), 2**62))
    # the old key, clip code x (2**62 + 1) + frame, wrapped round for codes >= 2: valid frames were not found
    assert found.tolist() == [True] * 20 + [False]
    np.testing.assert_array_equal(got[:-1], np.arange(20))


# -- 4: the seed the models were trained with ---------------------------------------------------------------

def test_4_metrics_record_the_seed_the_model_was_trained_with(work, shards):
    assert train_and_predict(work, shards, "mean_shape", "--seed", "7").exit_code == 0
    assert read_predictions(work / "predictions" / "mean_shape" / "300vw.h5").meta.train_seed == 7
    r = run(work, "compare", "-m", "mean_shape", "--no-plots", "--bootstrap", "0")
    assert r.exit_code == 0, r.output
    metrics = json.loads((work / "results" / "metrics.json").read_text())
    assert metrics["seeds"]["train"] == 7  # params train.seed is 0
    assert metrics["datasets"]["300vw"]["methods"]["mean_shape"]["prediction"]["train_seed"] == 7


def test_4_different_seeds_are_listed_per_method():
    from redbench.benchmark.compare import trained_seed
    from redbench.benchmark.store import PredictionMeta

    def meta(seed, by="redbench predict"):
        return PredictionMeta("m", "1", "c", "t", "gt", "300vw", "synthetic", "h", None, None, seed, by)

    class Scores:  # only .metas is read
        def __init__(self, metas):
            self.metas = metas

    assert trained_seed({"300vw": Scores({"a": meta(1), "b": meta(None)})}, 0) == 1
    assert trained_seed({"300vw": Scores({"a": meta(1), "b": meta(2)})}, 0) == {"a": 1, "b": 2}
    assert trained_seed({"300vw": Scores({"a": meta(None, None)})}, 5) == 5  # legacy: params train.seed
    assert trained_seed({"300vw": Scores({"a": meta(None)})}, 5) is None  # pretrained or imported only


# -- 5: a complex .mat -------------------------------------------------------------------------------------

def test_5_complex_or_struct_mat_is_refused(work, shards):
    from scipy.io import savemat

    gt = load_ground_truth(shards / "300vw")
    clip = gt.clip_ids[0]
    n = int((gt.clip_ids == clip).sum())
    path = work / f"preds_300VWtest_float_68pts_{clip.split('/')[1]}_300VW_128.mat"
    savemat(path, {"x": np.full((n, 68, 2), 100.0) + 1j})
    r = run(work, "import", "fhr", str(path), "-d", "300vw", "-m", "fhr")
    assert r.exit_code == 1 and "complex" in r.output and path.name in r.output
    savemat(path, {"x": {"a": 1}})
    r = run(work, "import", "fhr", str(path), "-d", "300vw", "-m", "fhr")
    assert r.exit_code == 1 and "not a numeric array" in r.output.replace("\n", " ")
    assert not (work / "predictions").exists()


# -- 7: an output over an input ----------------------------------------------------------------------------

def test_7_import_output_over_its_input_or_a_shard_is_refused(work, shards):
    gt = load_ground_truth(shards / "300vw")
    src = write_csv(work / "pred.csv", gt)
    before = src.read_bytes()
    r = run(work, "import", "csv", str(src), "-d", "300vw", "-m", "foo", "--out", str(src))
    assert r.exit_code == 1 and "an input of this command" in r.output and src.read_bytes() == before
    shard = next((shards / "300vw").glob("test-*.h5"))
    shard_bytes = shard.read_bytes()
    r = run(work, "import", "csv", str(src), "-d", "300vw", "-m", "foo", "--out", str(shard))
    assert r.exit_code == 1 and "an input of this command" in r.output and shard.read_bytes() == shard_bytes
    other = work / "elsewhere" / "test-000.h5"  # a copy of a shard, outside the shard folder
    other.parent.mkdir()
    other.write_bytes(shard_bytes)
    r = run(work, "import", "csv", str(src), "-d", "300vw", "-m", "foo", "--out", str(other))
    assert r.exit_code == 1 and "is a clip shard" in r.output and other.read_bytes() == shard_bytes
    notes = work / "notes.txt"
    notes.write_text("mine")
    r = run(work, "import", "csv", str(src), "-d", "300vw", "-m", "foo", "--out", str(notes))
    assert r.exit_code == 1 and "not a prediction store" in r.output and notes.read_text() == "mine"


# -- 2: `check` and a broken reference -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed_metrics() -> Path:
    return Path(__file__).resolve().parents[1] / "results" / "metrics.json"


def _reference(tmp_path: Path, edit) -> Path:
    ref = json.loads((Path(__file__).resolve().parents[1] / "benchmark" / "reference" / "default.json").read_text())
    edit(ref)
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))  # json writes NaN and Infinity as JavaScript does; json.loads reads them
    return path


def _check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(metrics={}), "no metrics"),
    (lambda r: r.update(metrics={k: float("nan") for k in r["metrics"]}), "must be a finite number or null"),
    (lambda r: r.update(metrics={k: float("inf") for k in r["metrics"]}), "must be a finite number or null"),
    (lambda r: r["metrics"].update({"synthetic/300vw/sdm/nme": "0.1"}), "synthetic/300vw/sdm/nme: must be"),
    (lambda r: r["metrics"].update({"synthetic/300vw/sdm/nme": True}), "synthetic/300vw/sdm/nme: must be"),
    (lambda r: r["tolerances"].update(default={"abs": float("nan")}), "tolerances.default.abs: must be a finite"),
    (lambda r: r["tolerances"].update(default={"abs": "x"}), "tolerances.default.abs: must be a finite"),
    (lambda r: r["tolerances"].update(default=[1]), "tolerances.default: expected"),
    (lambda r: r["metrics"].update({"synthetic/300vw/sdm/speed": 1.0}), "no known direction"),
    (lambda r: r.update(source=[1]), "source: expected a mapping"),
])
def test_2_check_refuses_a_broken_reference(tmp_path, committed_metrics, edit, message):
    r = _check(committed_metrics, _reference(tmp_path, edit), "--strict")
    assert r.exit_code == 1 and message in r.output and " ok" not in r.output, r.output
    assert "Traceback" not in r.output


def test_2_check_passes_the_committed_reference(committed_metrics):
    ref = Path(__file__).resolve().parents[1] / "benchmark" / "reference" / "default.json"
    r = _check(committed_metrics, ref, "--strict")
    assert r.exit_code == 0 and r.output.strip().endswith("572 ok")


def test_2_fhr_delay_is_better_nearer_zero():
    from redbench.benchmark.check import REFERENCE_SCHEMA, compare_values, direction

    ref = {"schema": REFERENCE_SCHEMA, "tolerances": {"default": {"abs": 0.01}},
           "metrics": {"s/d/m/fhr_delay": 0.1, "s/d/n/fhr_delay": -0.1, "s/d/o/fhr_delay": 0.1}}
    # 0.5 frames ahead of the truth is worse than 0.1 behind; -0.1 -> 0.0 is better; 0.1 -> -0.1 the same
    rows = compare_values({"s/d/m/fhr_delay": -0.5, "s/d/n/fhr_delay": 0.0, "s/d/o/fhr_delay": -0.1}, ref)
    assert {r.key: r.status for r in rows} == {"s/d/m/fhr_delay": "regressed", "s/d/n/fhr_delay": "improved",
                                               "s/d/o/fhr_delay": "ok"}
    assert [direction(k) for k in ("a/b/c/nme/video", "a/b/c/auc@0.08", "a/b/c/fr@0.1", "a/b/c/fhr_sta2",
                                   "a/b/cat1/c/nme", "a/b/c/nme[box,49]")] == \
        ["lower", "higher", "lower", "lower", "lower", "lower"]


def test_2_a_nonfinite_value_in_the_metrics_regresses():
    from redbench.benchmark.check import REFERENCE_SCHEMA, compare_values

    ref = {"schema": REFERENCE_SCHEMA, "metrics": {"s/d/m/nme": 0.1, "s/d/m/auc@0.08": 0.5}}
    rows = compare_values({"s/d/m/nme": float("-inf"), "s/d/m/auc@0.08": float("inf")}, ref)
    assert [r.status for r in rows] == ["regressed", "regressed"]


# -- 8: preprocess and compare delete only what they wrote ---------------------------------------------------

PREPROCESS_PARAMS = "preprocess: {crop_size: 32, block_frames: 2, boxes: {detector_size: 80}}\n"


def _preprocess(tmp_path: Path, out: Path):
    from redbench.datasets.fake import write_fake_tf_layout

    if not (tmp_path / "raw").exists():
        write_fake_tf_layout(tmp_path / "raw", 4, synthetic=True)
    (tmp_path / "pp.yaml").write_text(PREPROCESS_PARAMS)
    return CliRunner().invoke(main, ["-q", "--params", str(tmp_path / "pp.yaml"), "preprocess", "tf",
                                     "--raw-dir", str(tmp_path / "raw"), "--out", str(out)])


def test_8_preprocess_keeps_another_tools_manifest_and_its_files(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    theirs = {"tool": "other", "shards": [{"path": "a.bin"}, {"path": "test-000.h5"}]}
    (out / "manifest.json").write_text(json.dumps(theirs))
    (out / "a.bin").write_bytes(b"their data")
    (out / "test-000.h5").write_bytes(b"their shard")
    r = _preprocess(tmp_path, out)
    assert r.exit_code == 1 and "did not write" in r.output
    assert json.loads((out / "manifest.json").read_text()) == theirs
    assert (out / "a.bin").read_bytes() == b"their data" and (out / "test-000.h5").read_bytes() == b"their shard"


def test_8_preprocess_replaces_its_own_shards_but_not_a_changed_one(tmp_path):
    out = tmp_path / "shards"
    assert _preprocess(tmp_path, out).exit_code == 0
    assert _preprocess(tmp_path, out).exit_code == 0  # its own output: replaced
    shard = out / "test-000.h5"
    shard.write_bytes(shard.read_bytes() + b"edited")  # no longer the bytes its manifest records
    r = _preprocess(tmp_path, out)
    assert r.exit_code == 1 and "test-000.h5" in r.output and shard.read_bytes().endswith(b"edited")


def test_8_compare_keeps_files_it_did_not_write_and_plots_under_no_plots(work, shards):
    gt = load_ground_truth(shards / "300vw")
    assert run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "foo").exit_code == 0
    r = run(work, "compare", "-m", "foo", "--bootstrap", "0")  # with plots
    assert r.exit_code == 0, r.output
    results = work / "results"
    drawn = {p.name: p.read_bytes() for p in (results / "plots").glob("*.png")}
    assert drawn
    r = run(work, "compare", "-m", "foo", "--bootstrap", "0", "--no-plots")
    assert r.exit_code == 0, r.output
    assert {p.name: p.read_bytes() for p in (results / "plots").glob("*.png")} == drawn  # kept, not deleted
    for name in ("leaderboard.xlsx", "plots/mine.png"):
        (results / name).write_bytes(b"mine")
        for extra in ((), ("--no-plots",)):
            r = run(work, "compare", "-m", "foo", "--bootstrap", "0", *extra)
            assert r.exit_code == 1 and name in r.output and (results / name).read_bytes() == b"mine"
        (results / name).unlink()


def test_7_predict_output_over_a_shard_is_refused(work, shards):
    shard = next((shards / "300vw").glob("test-*.h5"))
    before = shard.read_bytes()
    r = run(work, "train", "mean_shape", "--shards-dir", str(shards), "--out", str(work / "models" / "mean_shape"))
    assert r.exit_code == 0, r.output
    r = run(work, "predict", "mean_shape", "300vw", "--shards-dir", str(shards), "--models-dir",
            str(work / "models"), "--out", str(shard))
    assert r.exit_code == 1 and "an input of this command" in r.output and shard.read_bytes() == before


# -- 9, 10: nothing hangs ----------------------------------------------------------------------------------

def redbench_bounded(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`redbench ARGS` in a process of its own, killed after `timeout` s: a hang fails the test, not the suite."""
    exe = Path(sys.executable).with_name("redbench")
    return subprocess.run([str(exe), "-q", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1"})


def test_9_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    levels = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values
    (tmp_path / "bomb.yaml").write_text("synthetic:\n" + "".join(f"  {line}\n" for line in levels))
    assert (tmp_path / "bomb.yaml").stat().st_size < 1024
    r = redbench_bounded(tmp_path, "--params", "bomb.yaml", "fetch", "300vw", timeout=30)
    assert r.returncode == 1 and "expands to more than 100,000 values" in r.stderr


def test_9_packaged_defaults_with_their_merge_key_still_load():
    from redbench.config import load_params

    params = load_params(None)
    assert params["methods"]["red_static"]["variant"] == "static" and params["methods"]["red_static"]["clip_len"] == 4


def _mkfifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_10_fifos_and_devices_are_refused_before_they_are_opened(work, shards):
    gt = load_ground_truth(shards / "300vw")
    clip = gt.clip_ids[0].split("/")[1]
    params = ("--params", str(work / "params.yaml"))
    fifo = _mkfifo(work / "theirs" / clip / "annot" / "000001.pts")
    r = redbench_bounded(work, *params, "import", "pts", "theirs", "-d", "300vw", "-m", "x")
    assert r.returncode == 1 and "000001.pts: the .pts file is a FIFO" in r.stderr
    fifo.unlink()
    fifo.symlink_to("/dev/zero")
    r = redbench_bounded(work, *params, "import", "pts", "theirs", "-d", "300vw", "-m", "x")
    assert r.returncode == 1 and "000001.pts: the .pts file is a device" in r.stderr
    _mkfifo(work / "fhr" / f"preds_300VWtest_float_68pts_{clip}_300VW_128.mat")
    r = redbench_bounded(work, *params, "import", "fhr", "fhr", "-d", "300vw", "-m", "x")
    assert r.returncode == 1 and "is a FIFO" in r.stderr
    (work / "zero.csv").symlink_to("/dev/zero")
    r = redbench_bounded(work, *params, "import", "csv", "zero.csv", "-d", "300vw", "-m", "x")
    assert r.returncode == 1 and "zero.csv: the CSV file is a device" in r.stderr
    _mkfifo(work / "fifo.yaml")
    r = redbench_bounded(work, "--params", "fifo.yaml", "fetch", "300vw")
    assert r.returncode == 1 and "fifo.yaml: the params file is a FIFO" in r.stderr


def test_10_a_pts_link_to_another_file_does_not_echo_it(work, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the-first-line\n")
    link = work / "theirs" / "001" / "annot" / "000001.pts"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    r = run(work, "import", "pts", str(work / "theirs"), "-d", "300vw", "-m", "x")
    assert r.exit_code == 1 and "000001.pts:1:" in r.output and "the-first-line" not in r.output
    r = CliRunner().invoke(main, ["inspect", str(link)])
    assert r.exit_code == 1 and "the-first-line" not in r.output


# -- 11: one line and exit 1, never a traceback ---------------------------------------------------------------

def test_11_expected_failures_end_in_one_line(work, shards):
    gt = load_ground_truth(shards / "300vw")
    src = write_csv(work / "pred.csv", gt)
    (work / "afile").write_text("x")
    clip = gt.clip_ids[0].split("/")[1]
    cases = {  # args -> what the one line says
        ("import", "csv", str(src), "-d", "300vw", "-m", "x", "--out", str(work / "afile" / "x.h5")):
            "afile: is a file, where a folder is needed",
    }
    r = run(work, "import", "csv", str(src), "-d", "300vw", "-m", "m" * 300)  # a usage error: click's exit 2
    assert r.exit_code == 2 and "at most 100 characters" in r.output and "m" * 41 not in r.output
    (work / "dir_pts" / clip / "annot" / "000003.pts").mkdir(parents=True)
    cases[("import", "pts", str(work / "dir_pts"), "-d", "300vw", "-m", "x")] = "000003.pts: the .pts file is a folder"
    (work / "long_pts" / clip / "annot").mkdir(parents=True)
    (work / "long_pts" / clip / "annot" / ("9" * 20 + ".pts")).write_text("version: 1\nn_points: 0\n{\n}\n")
    cases[("import", "pts", str(work / "long_pts"), "-d", "300vw", "-m", "x")] = "are numbered from 000001"
    lines = src.read_text().splitlines()
    first = lines[1].split(",")
    (work / "big_frame.csv").write_text("\n".join([lines[0], ",".join([first[0], "9" * 20, *first[2:]])]) + "\n")
    cases[("import", "csv", str(work / "big_frame.csv"), "-d", "300vw", "-m", "x")] = "big_frame.csv:2: frame_index"
    (work / "wide.csv").write_text(lines[0] + "\n" + first[0] + "," + "1" * 200_000 + "\n")
    cases[("import", "csv", str(work / "wide.csv"), "-d", "300vw", "-m", "x")] = "wide.csv: not a readable CSV file"
    (work / "latin.csv").write_bytes(lines[0].encode() + b"\n" + "caf\u00e9,0".encode("latin-1") + b"\n")
    cases[("import", "csv", str(work / "latin.csv"), "-d", "300vw", "-m", "x")] = "latin.csv: not UTF-8 text"
    fhr = work / f"preds_300VWtest_float_68pts_{clip}_300VW_128.mat"
    fhr.write_bytes(b"")
    cases[("import", "fhr", str(fhr), "-d", "300vw", "-m", "x")] = "not a readable MATLAB 5 file"
    bad_shards = work / "bad_shards" / "300vw"
    bad_shards.mkdir(parents=True)
    (bad_shards / "manifest.json").write_text("[1, 2]")
    cases[("import", "csv", str(src), "-d", "300vw", "-m", "x", "--shards", str(bad_shards.parent))] = \
        "manifest.json: not a valid shard manifest: expected a JSON object"
    for args, message in cases.items():
        r = run(work, *args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, (args, r.output)
        assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), args


def test_11_debug_shows_the_traceback(work):
    (work / "list.json").write_text("[1]")
    r = CliRunner().invoke(main, ["--debug", "inspect", str(work / "list.json")])
    assert r.exit_code == 1 and "Traceback" not in r.output  # a ClickException: no traceback to show
    from redbench.cli import describe_error

    assert describe_error(FileExistsError(17, "File exists", "/etc/passwd")) == \
        "/etc/passwd: is a file, where a folder is needed"
    assert describe_error(OSError(28, "No space left on device", "r/metrics.json")).startswith(
        "r/metrics.json: No space left on device (")
    assert describe_error(TypeError("bad")) == "TypeError: bad (unexpected; run `redbench --debug ...` for the traceback)"


def test_11_an_unexpected_error_is_one_line_unless_debug(work, monkeypatch):
    import redbench.cli.inspect_cmd as inspect_cmd

    def broken(*a, **k):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr(inspect_cmd, "user_errors", broken)
    (work / "x.pts").write_text("version: 1\nn_points: 0\n{\n}\n")
    r = CliRunner().invoke(main, ["inspect", str(work / "x.pts")])
    assert r.exit_code == 1 and r.output.strip() == ("Error: AttributeError: 'list' object has no attribute 'get' "
                                                     "(unexpected; run `redbench --debug ...` for the traceback)")
    r = CliRunner().invoke(main, ["--debug", "inspect", str(work / "x.pts")])
    assert isinstance(r.exception, AttributeError)  # raised through: click's runner holds the traceback


def test_11_dvc_queues_without_dvc_is_one_line(tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "dvc_queues.py"
    r = subprocess.run([sys.executable, str(script), "--dvc", str(tmp_path / "nonexistent"), "--queue", "a"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "nonexistent: no such executable" in r.stderr and "Traceback" not in r.stderr


# -- 12: a full disk ---------------------------------------------------------------------------------------

def _with_file_size_limit(limit: int):
    """A preexec_fn: writes beyond `limit` bytes fail (EFBIG), as on a full disk, without root or a tmpfs."""
    import resource
    import signal

    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return pre


def _five_writers(work: Path, shards: Path, out: Path) -> dict[str, list[str]]:
    gt = load_ground_truth(shards / "300vw")
    from redbench.datasets.fake import write_fake_tf_layout

    write_fake_tf_layout(work / "raw", 4, synthetic=True)
    write_csv(work / "pred.csv", gt)
    assert run(work, "import", "csv", str(work / "pred.csv"), "-d", "300vw", "-m", "foo").exit_code == 0
    p = ["--params", str(work / "params.yaml")]
    return {
        "preprocess": [*p, "preprocess", "tf", "--raw-dir", str(work / "raw"), "--out", str(out / "shards")],
        "train": [*p, "train", "mean_shape", "--shards-dir", str(shards), "--out", str(out / "models" / "m")],
        "predict": [*p, "predict", "mean_shape", "300vw", "--shards-dir", str(shards), "--models-dir",
                    str(work / "models"), "--out", str(out / "p" / "mean_shape.h5")],
        "compare": [*p, "compare", "-m", "foo", "--bootstrap", "0", "--out", str(out / "results")],
        "import": [*p, "import", "csv", str(work / "pred.csv"), "-d", "300vw", "-m", "bar", "--out",
                   str(out / "i" / "bar.h5")],
    }


@pytest.mark.skipif(not hasattr(os, "setrlimit") and sys.platform != "linux", reason="needs RLIMIT_FSIZE")
def test_12_writes_that_fail_end_cleanly(work, shards):
    """Every writing command with writes failing past 1,000 bytes: exit 1, one line naming an output, no crash (the
    HDF5 close on the abort path segfaulted), nothing half-written."""
    assert run(work, "train", "mean_shape", "--shards-dir", str(shards), "--out",
               str(work / "models" / "mean_shape")).exit_code == 0
    out = work / "out"
    out.mkdir()
    exe = Path(sys.executable).with_name("redbench")
    for name, args in _five_writers(work, shards, out).items():
        r = subprocess.run([str(exe), "-q", *args], capture_output=True, text=True, timeout=300, cwd=work,
                           preexec_fn=_with_file_size_limit(1000))
        assert r.returncode == 1, (name, r.returncode, r.stderr[-2000:])
        assert "File too large" in r.stderr and "Traceback" not in r.stderr, (name, r.stderr[-2000:])
        assert [p.name for p in out.iterdir()] == [], (name, list(out.rglob("*")))


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="mounting a tmpfs needs root")
def test_12_a_full_tmpfs(work, shards, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(full)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert run(work, "train", "mean_shape", "--shards-dir", str(shards), "--out",
                   str(work / "models" / "mean_shape")).exit_code == 0
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)  # the disk full to the last block
        with pytest.raises(OSError, match="No space left"):
            for _ in range(1000):
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        exe = Path(sys.executable).with_name("redbench")
        for name, args in _five_writers(work, shards, full).items():
            r = subprocess.run([str(exe), "-q", *args], capture_output=True, text=True, timeout=300, cwd=work)
            assert r.returncode == 1, (name, r.returncode, r.stderr[-2000:])
            assert "No space left on device" in r.stderr and "Traceback" not in r.stderr, (name, r.stderr[-2000:])
            assert sorted(p.name for p in full.iterdir()) == ["filler"], (name, list(full.rglob("*")))
    finally:
        subprocess.run(["umount", str(full)], check=False)


# -- 17: one stage, two spellings ----------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [("train@sdm", "dvc.yaml:train@sdm"), ("train@sdm", "./dvc.yaml:train@sdm"),
                                  ("train", "train@sdm"), ("reference/dvc.yaml:x", "reference/./dvc.yaml:x")])
def test_17_dvc_queues_knows_one_stage_by_any_address(a, b, capsys, load_script):
    mod = load_script("dvc_queues")
    with pytest.raises(SystemExit) as e:
        mod.main(["--dvc", "/nonexistent", "--queue", a, "--queue", b])
    assert e.value.code == 2 and "is in two queues" in capsys.readouterr().err
    assert not mod.overlapping(mod.stage_key("train@sdm"), mod.stage_key("train@ert"))
    assert not mod.overlapping(mod.stage_key("train@sdm"), mod.stage_key("reference/dvc.yaml:train@sdm"))


# -- 13: method params out of range name their key ---------------------------------------------------------

@pytest.mark.parametrize("section, key, value, message", [
    ("methods", "sdm.stages", 0, "methods.sdm.stages: must be >= 1, got 0"),
    ("methods", "sdm.max_frames", 0, "methods.sdm.max_frames: must be >= 1, got 0"),
    ("methods", "sdm.box_scale", 0, "methods.sdm.box_scale: must be > 0"),
    ("methods", "sdm.ridge", -1, "methods.sdm.ridge: must be > 0"),
    ("methods", "sdm.cell", 1000, "methods.sdm: cell: a HOG block of 2 x cell = 2000 px must fit in the 80 px"),
    ("methods", "mean_shape.max_frames", 0, "methods.mean_shape.max_frames: must be >= 1"),
    ("methods", "ert.nu", 0, "methods.ert.nu: must be > 0"),
    ("methods", "ert.cascade_depth", 0, "methods.ert.cascade_depth: must be >= 1"),
    ("methods", "cnn_regression.widths", [8, 0, 8, 8], "methods.cnn_regression.widths[1]: must be >= 1"),
    ("methods", "cnn_regression.loop.lr", 0, "methods.cnn_regression.loop.lr: must be > 0"),
    ("methods", "heatmap.stride", 3, "methods.heatmap.stride: must be one of [2, 4]"),
    ("methods", "heatmap.size", 36, "methods.heatmap: size: 36 px must be divisible by stride x 2^depth = 16"),
    ("methods", "red.clip_len", 0, "methods.red.clip_len: must be >= 1"),
    ("methods", "red.variant", "nope", "methods.red.variant: must be one of"),
    ("methods", "red.label_square", 4, "do not make a RED model: odd squares"),
    ("methods", "red.train.batch_clips", 0, "methods.red.train.batch_clips: must be >= 1"),
    ("methods", "red.train.loss.coords", -1, "methods.red.train.loss.coords: must be >= 0"),
    ("compare", "ced_points", 10**12, "compare.ced_points: must be <= 100000"),
    ("preprocess", "crop_size", 100000, "preprocess.crop_size: must be <= 1024"),
    ("preprocess", "block_frames", 400, "preprocess: block_frames x crop_size^2 x 3 = 1,200 MB"),
])
def test_13_method_params_are_range_checked(tmp_path, section, key, value, message):
    from redbench.benchmark.compare import CompareConfig
    from redbench.config import ConfigError, from_dict, load_params
    from redbench.datasets.preprocess import PreprocessConfig
    from redbench.methods import method_table
    from redbench.methods.factory import method_config

    *path, last = key.split(".")
    doc: dict = {"preprocess": {"crop_size": 1024}} if key == "block_frames" else {}
    node = doc.setdefault(section, {})
    for k in path:
        node = node.setdefault(k, {})
    node[last] = value
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(doc))
    params = load_params(tmp_path / "p.yaml")
    with pytest.raises(ConfigError) as e:
        if section == "methods":
            method_config(method_table()[path[0]], params)
        elif section == "compare":
            from_dict(CompareConfig, params["compare"], where="compare")
        else:
            from_dict(PreprocessConfig, params["preprocess"], where="preprocess")
    assert message in str(e.value), str(e.value)


# -- 14: no bootstrap is a setting, and then nothing claims an interval ------------------------------------

def test_14_bootstrap_zero_in_params_draws_no_interval_and_claims_none(work, shards):
    gt = load_ground_truth(shards / "300vw")
    assert run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "foo").exit_code == 0
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["compare"]["bootstrap"] = {"resamples": 0}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    r = run(work, "compare", "-m", "foo")
    assert r.exit_code == 0, r.output
    metrics = json.loads((work / "results" / "metrics.json").read_text())
    nme = metrics["datasets"]["300vw"]["methods"]["foo"]["metrics"]["nme"]
    assert nme["ci"] == [None, None] and metrics["uncertainty"]["method"].startswith("none")
    assert metrics["datasets"]["300vw"]["uncertainty"]["method"].startswith("none")
    md = (work / "results" / "leaderboard.md").read_text()
    assert "no intervals: bootstrap off" in md and "95%" not in md and "bootstrap interval" not in md


def test_14_a_breakdown_plot_without_bootstrap_names_no_level(tmp_path, monkeypatch):
    from redbench.benchmark import plots

    entry = {"data_source": "synthetic", "box_protocol": "gt", "methods": {},
             "breakdowns": {"yaw": {"groups": {"0-15": {"n_frames": 3, "methods": {
                 "m": {"nme": {"value": 0.1, "ci": [None, None]}}}}}}}}
    titles = []
    real_save = plots._save

    def save(fig, path):
        titles.append(fig.axes[0].get_title())
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", save)
    plots.plot_breakdown(entry, "300vw", "yaw", {"norm": "inter_ocular", "points": 68, "thresholds": [0.08]},
                         None, tmp_path / "b.png")
    assert titles and "no intervals" in titles[0] and "%" not in titles[0]


# -- 15: a partial section merges over the packaged one ---------------------------------------------------

def test_15_a_partial_compare_section_keeps_the_packaged_keys(tmp_path, monkeypatch):
    from redbench.benchmark.compare import CompareConfig
    from redbench.config import load_params, section

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("compare: {out_dir: X}\n")
    merged = section(load_params(tmp_path / "p.yaml"), "compare", CompareConfig)
    assert merged.out_dir == "X" and merged.methods == CompareConfig().methods and merged.methods  # not "no methods"
    (tmp_path / "p.yaml").write_text("compare: {methods: [sdm]}\n")
    merged = section(load_params(tmp_path / "p.yaml"), "compare", CompareConfig)
    assert list(merged.methods) == ["sdm"] and list(merged.datasets) == ["300vw", "300w", "tf"]  # not only 300vw


def test_15_a_key_given_twice_is_an_error(tmp_path):
    from redbench.config import ConfigError, load_params

    (tmp_path / "p.yaml").write_text("compare:\n  out_dir: a\n  out_dir: b\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:3: key 'out_dir' given twice in one mapping \(also on line 2\)"):
        load_params(tmp_path / "p.yaml")


# -- 16: surprises ----------------------------------------------------------------------------------------

def test_16_predict_help_lists_the_box_protocols():
    from redbench.methods.protocol import BOX_PROTOCOLS

    for command in ("predict", "import"):
        r = CliRunner().invoke(main, [command, "--help"])
        text = " ".join(r.output.split())
        assert r.exit_code == 0 and " | ".join(BOX_PROTOCOLS) in text and "BOX_PROTOCOLS" not in text


def test_16_inspect_reads_a_prediction_store(work, shards):
    gt = load_ground_truth(shards / "300vw")
    assert run(work, "import", "csv", str(write_csv(work / "pred.csv", gt)), "-d", "300vw", "-m", "foo").exit_code == 0
    r = CliRunner().invoke(main, ["inspect", str(work / "predictions" / "foo" / "300vw.h5")])
    assert r.exit_code == 0, r.output
    assert f"prediction store of method 'foo' on 300vw (synthetic data)" in r.output
    assert f"{len(gt)} frames in {len(set(gt.clip_ids))} clips, box protocol gt" in r.output
    assert "written by redbench import" in r.output


def test_16_csv_with_a_byte_order_mark_and_latin1(work, shards):
    gt = load_ground_truth(shards / "300vw")
    src = write_csv(work / "pred.csv", gt)
    (work / "bom.csv").write_bytes(b"\xef\xbb\xbf" + src.read_bytes())  # what spreadsheets write
    r = run(work, "import", "csv", str(work / "bom.csv"), "-d", "300vw", "-m", "foo")
    assert r.exit_code == 0, r.output
    (work / "latin.csv").write_bytes(src.read_bytes().replace(b"300vw/", "300vw/\u00e9".encode("latin-1"), 1))
    r = run(work, "import", "csv", str(work / "latin.csv"), "-d", "300vw", "-m", "bar")
    assert r.exit_code == 1 and "latin.csv: not UTF-8 text" in r.output


def test_16_a_pts_video_folder_named_with_four_digits_is_reported(work, shards):
    from redbench.datasets.pts import write_pts

    gt = load_ground_truth(shards / "300vw")
    for c, f, p in zip(gt.clip_ids, gt.frame_indices, gt.landmarks):
        write_pts(work / "theirs" / c.split("/")[1] / "annot" / f"{f + 1:06d}.pts", p + 1.0)
    (work / "theirs" / "0114" / "annot").mkdir(parents=True)
    r = run(work, "import", "pts", str(work / "theirs"), "-d", "300vw", "-m", "foo")
    assert r.exit_code == 1 and "0114: a video folder is named with 3 digits" in r.output


def test_16_an_empty_zip_is_not_fetched_and_raw_folders_take_the_umask(tmp_path):
    import stat
    import zipfile

    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"fetch": {"tf": {"source": "path", "path": str(empty)}}}))
    r = CliRunner().invoke(main, ["--params", str(tmp_path / "p.yaml"), "fetch", "tf", "--out", str(tmp_path / "tf")])
    assert r.exit_code == 1 and "holds no files: nothing to fetch" in r.output and not (tmp_path / "tf").exists()
    full = tmp_path / "full.zip"
    with zipfile.ZipFile(full, "w") as z:
        z.writestr("franck_00000.pts", "version: 1\nn_points: 0\n{\n}\n")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"fetch": {"tf": {"source": "path", "path": str(full)}}}))
    old = os.umask(0o022)
    try:
        r = CliRunner().invoke(main, ["--params", str(tmp_path / "p.yaml"), "fetch", "tf", "--out",
                                      str(tmp_path / "tf")])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE((tmp_path / "tf").stat().st_mode) == 0o755
