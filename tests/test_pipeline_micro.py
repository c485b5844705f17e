"""The CI regression check: the whole pipeline on a micro synthetic configuration, then `redbench check`.

Runs fetch -> preprocess -> train -> predict -> compare exactly as the DVC stages do (same commands), in a
temporary folder with benchmark/reference/micro_params.yaml as its params.yaml, and fails when any headline
number of any method moves outside the reference's tolerances (benchmark/reference/micro.json). A change that
silently worsens a method, the data or the metrics fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "benchmark" / "reference"
DATASETS = ("300vw", "300w", "tf")


def _redbench(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("redbench")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run([str(exe), "-q", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 or args[0] == "check", f"redbench {' '.join(args)} failed:\n{proc.stderr}"
    return proc


def _trainable(methods: list[str]) -> list[str]:
    from redbench.methods import method_table

    table = method_table()
    bases = {table[m].smooth_of or m for m in methods}
    return sorted(b for b in bases if table[b].trainable)


@pytest.mark.slow
def test_micro_pipeline_matches_reference(tmp_path):
    shutil.copy(REFERENCE / "micro_params.yaml", tmp_path / "params.yaml")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    methods = params["compare"]["methods"]
    for d in DATASETS:
        _redbench(tmp_path, "fetch", d)
        _redbench(tmp_path, "preprocess", d)
    for m in _trainable(methods):
        _redbench(tmp_path, "train", m)
    for m in methods:
        for d in DATASETS:
            _redbench(tmp_path, "predict", m, d)
    _redbench(tmp_path, "compare")

    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    for m in methods:
        for d in DATASETS:
            assert f"synthetic/{d}/{m}/nme" in summary, f"no headline NME for {m} on {d}"
    check = _redbench(tmp_path, "check", "results/metrics.json", str(REFERENCE / "micro.json"))
    assert check.returncode == 0, f"regression against benchmark/reference/micro.json:\n{check.stdout}{check.stderr}"
