"""`redbench preprocess` and `redbench inspect` on shards, through click's CliRunner."""

from __future__ import annotations

import h5py
import pytest
from click.testing import CliRunner

from redbench.cli import main
from redbench.datasets.fake import write_fake_tf_layout
from redbench.datasets.shards import load_manifest

PARAMS = """
preprocess:
  crop_size: 32
  block_frames: 2
  boxes: {detector_size: 80}
"""


@pytest.fixture()
def shards(tmp_path):
    write_fake_tf_layout(tmp_path / "raw", 4, synthetic=True)
    (tmp_path / "params.yaml").write_text(PARAMS)
    res = CliRunner().invoke(main, ["--params", str(tmp_path / "params.yaml"), "preprocess", "tf",
                                    "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "shards")])
    assert res.exit_code == 0, res.output
    return tmp_path, res.output


@pytest.mark.parametrize("command", ["preprocess", "inspect"])
def test_help(command):
    res = CliRunner().invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


def test_preprocess_writes_shards_and_reports(shards):
    tmp_path, output = shards
    assert "4 frames of tf (synthetic data)" in output
    assert "PnP yaw |error| vs the source's pose over 4 frames: median" in output
    m = load_manifest(tmp_path / "shards", verify=True)
    assert m.crop_size == 32 and m.info["preprocess"]["config"]["boxes"]["detector_size"] == 80
    assert [s.path for s in m.shards] == ["test-000.h5"]


def test_inspect_folder_and_shard(shards):
    tmp_path, _ = shards
    res = CliRunner().invoke(main, ["inspect", str(tmp_path / "shards"), "--verify"])
    assert res.exit_code == 0, res.output
    assert "dataset tf (synthetic data), 1 shard(s), crops 32x32" in res.output
    assert "clips 1, frames 4, identities 1" in res.output
    assert "frames per subset: tf 4" in res.output
    assert "occlusion known in 4 frames" in res.output and "PnP yaw |error|" in res.output
    res = CliRunner().invoke(main, ["inspect", str(tmp_path / "shards" / "test-000.h5")])
    assert res.exit_code == 0 and "clips 1, frames 4" in res.output


def test_inspect_refuses_corrupted_shards(shards):
    tmp_path, _ = shards
    path = tmp_path / "shards" / "test-000.h5"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    res = CliRunner().invoke(main, ["inspect", str(tmp_path / "shards"), "--verify"])
    assert res.exit_code == 1 and "test-000.h5: sha256 mismatch" in res.output
    path.write_bytes(bytes(data[:2000]))
    res = CliRunner().invoke(main, ["inspect", str(path)])
    assert res.exit_code == 1 and "test-000.h5: not a readable HDF5 shard" in res.output


def test_inspect_refuses_an_unknown_schema_version(shards):
    tmp_path, _ = shards
    with h5py.File(tmp_path / "shards" / "test-000.h5", "r+") as f:
        f.attrs["schema_version"] = 7
    res = CliRunner().invoke(main, ["inspect", str(tmp_path / "shards" / "test-000.h5")])
    assert res.exit_code == 1 and "shard schema version 7" in res.output


def test_preprocess_errors_are_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("preprocess: {crop_sise: 32}\n")
    res = CliRunner().invoke(main, ["--params", str(tmp_path / "params.yaml"), "preprocess", "tf",
                                    "--raw-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "unknown key(s) ['crop_sise']" in res.output
    (tmp_path / "params.yaml").write_text(PARAMS)
    res = CliRunner().invoke(main, ["--params", str(tmp_path / "params.yaml"), "preprocess", "tf",
                                    "--raw-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "run `redbench fetch tf` first" in res.output
    res = CliRunner().invoke(main, ["preprocess", "cofw"])
    assert res.exit_code == 2
