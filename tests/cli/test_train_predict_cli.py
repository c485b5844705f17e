"""`redbench train METHOD` and `redbench predict METHOD DATASET` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench.cli import main


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("cli")
    make_fake_shards(root / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=48, seed=2)
    params = {"train": {"datasets": ["300vw"]},
              "methods": {"mean_shape": {"max_frames": 1000}},
              "smoothing": {"filter": "kalman"},
              "predict": {"box_protocol": "gt_jitter"}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def _run(workdir: Path, *args: str):
    return CliRunner().invoke(main, ["-q", "--params", str(workdir / "params.yaml"), *args], catch_exceptions=False)


def test_help() -> None:
    for cmd in ("train", "predict"):
        result = CliRunner().invoke(main, [cmd, "--help"])
        assert result.exit_code == 0 and "METHOD" in result.output


def test_train_then_predict_static_and_smoothed(workdir: Path) -> None:
    from redbench.benchmark.store import read_predictions

    shards, models = str(workdir / "shards"), str(workdir / "models")
    r = _run(workdir, "train", "mean_shape", "--shards-dir", shards, "--out", f"{models}/mean_shape")
    assert r.exit_code == 0, r.output
    assert (workdir / "models/mean_shape/mean_shape.npz").exists()
    out = workdir / "pred/mean_shape/300vw.h5"
    r = _run(workdir, "predict", "mean_shape", "300vw", "--shards-dir", shards, "--models-dir", models,
             "--out", str(out))
    assert r.exit_code == 0, r.output
    p = read_predictions(out)
    assert p.meta.method == "mean_shape" and p.meta.box_protocol == "gt_jitter"  # from params predict:
    assert len(p) == 2 * 5  # 2 test clips of 5 frames
    from redbench.datasets.shards import load_manifest

    assert p.meta.train_data_hash == load_manifest(workdir / "shards/300vw").sha256
    # --box overrides params; the +smooth row wraps the trained static method.
    out_s = workdir / "pred/mean_shape+smooth/300vw.h5"
    r = _run(workdir, "predict", "mean_shape+smooth", "300vw", "--box", "tracking", "--shards-dir", shards,
             "--models-dir", models, "--out", str(out_s))
    assert r.exit_code == 0, r.output
    s = read_predictions(out_s)
    assert s.meta.method == "mean_shape+smooth" and s.meta.box_protocol == "tracking"
    assert s.meta.train_data_hash == p.meta.train_data_hash and s.meta.config_hash != p.meta.config_hash
    assert s.keys() == p.keys() and np.isfinite(s.landmarks).all()


def test_pretrained_predicts_without_a_model_dir(workdir: Path) -> None:
    from redbench.benchmark.store import read_predictions

    out = workdir / "pred/ert_pretrained.h5"
    r = _run(workdir, "predict", "ert_pretrained", "300vw", "--shards-dir", str(workdir / "shards"),
             "--models-dir", str(workdir / "nothing"), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "300-W" in read_predictions(out).meta.train_data_hash  # marked as trained on 300-W


@pytest.mark.parametrize("args,message", [
    (["train", "nope"], "unknown method"),
    (["train", "ert_pretrained"], "pretrained"),
    (["train", "sdm+smooth"], "train sdm instead"),
    (["train", "mean_shape", "--resume", "--shards-dir", "/nonexistent"], "/nonexistent/300vw"),
    (["predict", "sdm", "300vw", "--models-dir", "/nonexistent"], "train_info.json"),
    (["predict", "mean_shape", "300w", "--shards-dir", "/nonexistent", "--models-dir", "/nonexistent"],
     "train_info.json"),
    (["predict", "mean_shape", "300vw", "--box", "oracle"], "--box: must be one of"),
    (["predict", "nope", "300vw"], "unknown method 'nope'"),
])
def test_expected_errors_are_one_line(workdir: Path, args: list[str], message: str) -> None:
    r = _run(workdir, *args)
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output


def test_unknown_params_key_is_reported(workdir: Path, tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"methods": {"mean_shape": {"max_frame": 3}}}))
    r = CliRunner().invoke(main, ["--params", str(tmp_path / "params.yaml"), "train", "mean_shape",
                                  "--shards-dir", str(workdir / "shards"), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "methods.mean_shape" in r.output and "max_frame" in r.output


@pytest.mark.parametrize("val_fraction, n_val", [(0.25, 1), (0.5, 2)])
def test_red_holds_out_train_val_fraction(workdir: Path, tmp_path: Path, caplog, val_fraction: float,
                                          n_val: int) -> None:
    """RED's validation identities come from params train.val_fraction (of the 4 training identities)."""
    import logging

    train = {"epochs": 1, "passes_per_epoch": 1, "batch_clips": 2, "checkpoint_every": 0, "val_frames_per_clip": 2}
    params = {"train": {"datasets": ["300vw"], "val_fraction": val_fraction},
              "methods": {"red": {"input_size": 32, "train": train}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    caplog.set_level(logging.INFO, logger="redbench.red.method_train")
    r = CliRunner().invoke(main, ["-q", "--params", str(tmp_path / "params.yaml"), "train", "red",
                                  "--shards-dir", str(workdir / "shards"), "--out", str(tmp_path / "red")])
    assert r.exit_code == 0, r.output
    assert f"{4 - n_val} clips of {4 - n_val} identities, validation: {n_val} clips of {n_val} identities" \
        in caplog.text
