"""The CLI's basic commands through click's CliRunner: help, version, methods, inspect .pts, fetch."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench import __version__
from redbench.cli import main
from redbench.config import from_dict, load_params
from redbench.datasets import synthetic
from redbench.datasets.fetch import MARKER
from redbench.datasets.pts import write_pts
from redbench.methods import method_table


def _run(*args, **kwargs):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)


def test_help_lists_the_commands():
    result = _run("--help")
    assert result.exit_code == 0
    for command in ("fetch", "preprocess", "inspect", "methods", "train", "predict", "compare", "check"):
        assert f"  {command}" in result.output


def test_version():
    result = _run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"redbench, version {__version__}"


def test_methods_lists_every_installed_method():
    result = _run("methods")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(method_table())
    red = next(line for line in lines if line.split()[0] == "red")
    assert "temporal" in red and "trainable" in red
    assert _run("methods", "--help").exit_code == 0


def test_inspect_prints_the_points_as_written(tmp_path):
    points = np.array([[1.0, 2.5], [300.125, 40.0]])
    write_pts(tmp_path / "face.pts", points)
    result = _run("inspect", str(tmp_path / "face.pts"))
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert "2 points" in lines[0]
    assert [line.split() for line in lines[1:]] == [["0", "1.000", "2.500"], ["1", "300.125", "40.000"]]


def test_inspect_reports_a_malformed_pts_in_one_line(tmp_path):
    bad = tmp_path / "bad.pts"
    bad.write_text("version: 1\nn_points: 2\n{\n1 2\n}\n")
    result = _run("inspect", str(bad))
    assert result.exit_code == 1
    assert f"Error: {bad}:2: n_points says 2 but 1 points are listed" in result.output
    assert _run("inspect", "--help").exit_code == 0


def test_fetch_help():
    result = _run("fetch", "--help")
    assert result.exit_code == 0 and "--out" in result.output and "300vw" in result.output


def _params(tmp_path, fetch_section, synthetic_section=None):
    path = tmp_path / "params.yaml"
    data = {"fetch": fetch_section}
    if synthetic_section is not None:
        data["synthetic"] = synthetic_section
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_fetch_a_local_archive_into_out(tmp_path):
    archive = tmp_path / "300VW.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("300VW_Dataset_2015_12_14/114/annot/000001.pts", "x")
    params = _params(tmp_path, {"300vw": {"source": "path", "path": str(archive), "url": None, "sha256": None}})
    out = tmp_path / "raw" / "300vw"
    result = _run("--params", params, "fetch", "300vw", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "300vw: fetched" in result.output
    assert (out / "114" / "annot" / "000001.pts").read_text() == "x" and (out / MARKER).exists()
    again = _run("--params", params, "fetch", "300vw", "--out", str(out))
    assert "already complete" in again.output


def test_fetch_a_local_folder_and_the_default_out(tmp_path, monkeypatch):
    src = tmp_path / "tf_release"
    src.mkdir()
    (src / "franck_00000.pts").write_text("p")
    params = _params(tmp_path, {"tf": {"source": "path", "path": str(src)}})
    monkeypatch.chdir(tmp_path)
    result = _run("--params", params, "fetch", "tf")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "raw" / "tf" / "franck_00000.pts").read_text() == "p"


@pytest.mark.parametrize(
    "section, message",
    [
        ({"source": "path", "path": "x.zip", "sha256": "00"}, "fetch.300w: sha256 must be 64 hex digits"),
        ({"source": "disk"}, "fetch.300w: source must be one of"),
        ({"source": "path", "paht": "x"}, "fetch.300w: unknown key(s) ['paht']"),
        ({"source": "path", "path": "missing.zip"}, "does not exist"),
    ],
)
def test_fetch_config_errors_are_one_line(tmp_path, section, message):
    result = _run("--params", _params(tmp_path, {"300w": section}), "fetch", "300w", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_fetch_sha_mismatch_fails_cleanly(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ibug/1.pts", "x")
    params = _params(tmp_path, {"300w": {"source": "path", "path": str(archive), "sha256": "a" * 64}})
    result = _run("--params", params, "fetch", "300w", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "sha256 is" in result.output and not (tmp_path / "o").exists()


def test_fetch_synthetic_builds_the_config_from_params(tmp_path, monkeypatch):
    calls = []

    def write_dataset(dataset, out_dir, cfg, progress):
        calls.append((dataset, cfg))
        (out_dir / "franck_00000.pts").write_text("synthetic")

    monkeypatch.setattr(synthetic, "write_dataset", write_dataset, raising=False)
    params = _params(tmp_path, {"tf": {"source": "synthetic"}}, {"seed": 5, "tf_frames": 2})
    result = _run("--params", params, "fetch", "tf", "--out", str(tmp_path / "tf"))
    assert result.exit_code == 0, result.output
    # the file's keys over the packaged section, key by key
    packaged = load_params(None)["synthetic"]
    assert calls == [("tf", from_dict(synthetic.SyntheticConfig, {**packaged, "seed": 5, "tf_frames": 2}))]
    assert calls[0][1].frame_width == packaged["frame_width"]
    bad = _params(tmp_path, {"tf": {"source": "synthetic"}}, {"sede": 5})
    result = _run("--params", bad, "fetch", "tf", "--out", str(tmp_path / "tf2"))
    assert result.exit_code == 1 and "synthetic: unknown key(s) ['sede']" in result.output
