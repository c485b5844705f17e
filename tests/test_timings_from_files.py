"""scripts/timings_from_files.py: timings of the stages run before the queues kept them, from their files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.skipif(not Path(sys.executable).with_name("dvc").exists() or shutil.which("git") is None,
                                reason="needs dvc beside this Python, and git")


def _file(path: Path, mtime: float, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_trainings_from_their_record_and_predictions_from_the_gaps_between_their_files(tmp_path, load_script):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "init", "-q"], cwd=tmp_path, check=True, env=env)
    (tmp_path / "dvc.yaml").write_text(textwrap.dedent("""\
        stages:
          train_m:
            matrix: {seed: [0, 1]}
            cmd: train ${item.seed}
            outs:
              - models/seed${item.seed}
          predict_m:
            matrix: {seed: [0, 1, 2]}
            cmd: predict ${item.seed}
            outs:
              - p/${item.seed}.h5
        """))
    outs = {"train_m@0": "models/seed0", "train_m@1": "models/seed1", "predict_m@0": "p/0.h5",
            "predict_m@1": "p/1.h5", "predict_m@2": "p/2.h5", "train@old": "models/old"}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(
        {"schema": "2.0", "stages": {k: {"cmd": "x", "outs": [{"path": v}]} for k, v in outs.items()}}))
    t0 = 1_000_000.0
    # seed 0 trained in one go, seed 1 resumed: its record sums both attempts (cost.wall_s)
    _file(tmp_path / "models/seed0/train_info.json", t0 + 500, json.dumps({"seconds": 500.0}))
    _file(tmp_path / "models/seed1/train_info.json", t0 + 900,
          json.dumps({"seconds": 100.0, "cost": {"wall_s": 400.0}}))
    _file(tmp_path / "models/old/train_info.json", t0, json.dumps({"seconds": 1.0}))  # an older layout: skipped
    _file(tmp_path / "p/0.h5", t0 + 1000)
    _file(tmp_path / "p/1.h5", t0 + 1030)
    _file(tmp_path / "p/2.h5", t0 + 5000)  # after a pause longer than max_gap: left out
    rows = load_script("timings_from_files").stage_rows(tmp_path / "dvc.lock",
                                                        known={f"{tmp_path / 'dvc.yaml'}:train_m@0"}, max_gap=900)
    got = {r["stage"].rpartition(":")[2]: (r["seconds"], r["source"]) for r in rows}
    assert got == {"train_m@1": (400.0, "train_info.json"), "predict_m@1": (30.0, "output file times")}


def test_a_malformed_timings_file_is_named_and_left_as_it_was(tmp_path, load_script, capsys):
    lock, timings = tmp_path / "dvc.lock", tmp_path / "t.csv"
    lock.write_text("schema: '2.0'\nstages: {}\n")
    timings.write_text("stage,seconds\na,1\n")
    assert load_script("timings_from_files").main([str(lock), "--timings", str(timings)]) == 1
    assert f"{timings}: not a timings file" in capsys.readouterr().err
    assert timings.read_text() == "stage,seconds\na,1\n"
