"""`redbench train red` / `red_static` through the CLI on fake shards, including --resume."""

import json

import yaml
from click.testing import CliRunner

from redbench.cli import main
from redbench.datasets.fake import make_fake_shards

SECTION = {"input_size": 32, "train": {"epochs": 2, "passes_per_epoch": 1, "batch_clips": 2,
                                       "checkpoint_every": 1, "val_frames_per_clip": 2}}


def test_train_red_cli_and_resume(tmp_path):
    make_fake_shards(tmp_path / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=96, n_identities=4)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"datasets": ["300vw"]},
                                      "methods": {"red_static": {**SECTION, "variant": "static"}}}))
    runner = CliRunner()
    assert runner.invoke(main, ["train", "--help"]).exit_code == 0
    args = ["--params", str(params), "train", "red_static", "--shards-dir", str(tmp_path / "shards"),
            "--out", str(tmp_path / "model")]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    again = runner.invoke(main, [*args, "--resume"])  # the last checkpoint is at the end: nothing left to do
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "model" / "metrics.json").read_text()) == metrics


def test_train_red_cli_rejects_a_bad_section(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"methods": {"red": {"varient": "full"}}}))
    result = CliRunner().invoke(main, ["--params", str(params), "train", "red", "--shards-dir", str(tmp_path)])
    assert result.exit_code != 0 and "varient" in result.output


def test_train_set_overrides_the_method_section(tmp_path):
    """RED's ablations are `redbench train red --set variant=...`: the row trains that variant, and a key the
    Config lacks is refused by name."""
    make_fake_shards(tmp_path / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=96, n_identities=4)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"datasets": ["300vw"]}, "methods": {"red": SECTION}}))
    base = ["--params", str(params), "train", "red", "--shards-dir", str(tmp_path / "shards")]
    runner = CliRunner()
    ok = runner.invoke(main, [*base, "--out", str(tmp_path / "m"), "--set", "variant=no_srnn",
                              "--set", "train.epochs=1"])
    assert ok.exit_code == 0, ok.output
    info = json.loads((tmp_path / "m" / "train_info.json").read_text())
    assert info["method"] == "red_no_srnn"
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["epochs"] == 1
    bad = runner.invoke(main, [*base, "--out", str(tmp_path / "n"), "--set", "train.epoks=1"])
    assert bad.exit_code != 0 and "epoks" in bad.output and not (tmp_path / "n").exists()
