"""Every bad params value stops the command with one line naming the key, and no Python traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from redbench.cli import main


@pytest.mark.parametrize("text, args, message", [
    ("preprocess: {context_scale: .nan}\n", ["preprocess", "300vw"], "preprocess.context_scale: must be finite, got nan"),
    ("preprocess: {context_scale: .nan}\n", ["train", "mean_shape"], "preprocess.context_scale: must be finite"),
    ("preprocess: {context_scale: 0}\n", ["preprocess", "300vw"], "preprocess.context_scale: must be > 0, got 0.0"),
    ("preprocess: {crop_size: -5}\n", ["preprocess", "300vw"], "preprocess.crop_size: must be >= 8, got -5"),
    ("preprocess: {boxes: {jitter_shift: -1}}\n", ["preprocess", "300vw"], "preprocess.boxes.jitter_shift: must be >= 0"),
    ("compare: {bootstrap: {ci: 1.5}}\n", ["compare"], "compare.bootstrap.ci: must be < 1, got 1.5"),
    ("compare: {ced_points: 1}\n", ["compare"], "compare.ced_points: must be >= 2, got 1"),
    ("compre: {methods: [sdm]}\n", ["compare"], "unknown section(s) ['compre']"),
    ("predict: {box_protocol: magic}\n", ["predict", "sdm", "300vw"], "predict.box_protocol: must be one of"),
    ("smoothing: {fps: 0}\n", ["predict", "sdm+smooth", "300vw"], "smoothing.fps: must be > 0"),
    ("synthetic: {vw_frames: 0}\n", ["fetch", "300vw"], "synthetic.vw_frames: must be >= 1, got 0"),
    ("fetch: {300vw: {source: ftp}}\n", ["fetch", "300vw"], "fetch.300vw: source must be one of"),
])
def test_bad_params_values_exit_non_zero_naming_the_key(tmp_path, monkeypatch, text, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(text)
    result = CliRunner().invoke(main, ["-q", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # nothing written


def test_commands_run_outside_a_project_folder_on_the_packaged_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no params.yaml here
    result = CliRunner().invoke(main, ["-q", "compare"])
    # the defaults are read (compare.methods of the default run) and compare gets as far as the missing files
    assert result.exit_code == 1 and "missing prediction file(s): predictions/mean_shape/300vw.h5" in result.output, \
        result.output
    result = CliRunner().invoke(main, ["-q", "--params", "absent.yaml", "compare"])
    assert result.exit_code == 1 and "absent.yaml: params file not found" in result.output
