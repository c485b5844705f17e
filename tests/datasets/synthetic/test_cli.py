import json

import cv2
from click.testing import CliRunner

from redbench.cli import main


def test_help():
    for cmd in ("preview", "synthetic-stats"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "DATASET" in r.output


def test_preview_writes_png(micro_root, tmp_path):
    out = tmp_path / "sheet.png"
    r = CliRunner().invoke(main, ["-q", "preview", "300w", "--root", str(micro_root / "300w"), "--out", str(out),
                                  "-n", "4", "--cols", "2", "--zoom", "1"])
    assert r.exit_code == 0, r.output
    img = cv2.imread(str(out))
    assert img.shape == (2 * (96 + 2), 2 * (128 + 2), 3)


def test_synthetic_stats_prints_and_writes_json(micro_root, tmp_path):
    out = tmp_path / "stats.json"
    r = CliRunner().invoke(main, ["synthetic-stats", "300vw", "--root", str(micro_root / "300vw"),
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "category1" in r.output and "yaw_abs_p95" in r.output
    data = json.loads(out.read_text())
    assert data["data_source"] == "synthetic" and data["categories"][-1]["category"] == "all"
    assert data["categories"][-1]["frames"] == 5 * 8


def test_missing_root_is_a_clean_error(tmp_path):
    for cmd in ("preview", "synthetic-stats"):
        r = CliRunner().invoke(main, [cmd, "tf", "--root", str(tmp_path / "nope")])
        assert r.exit_code == 1 and "nope" in r.output and "Traceback" not in r.output
