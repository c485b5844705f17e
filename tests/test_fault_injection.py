"""scripts/fault_injection.py on a small case: every stage killed once with SIGKILL, nothing half-written."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_killed_stages_leave_complete_outputs_or_none(tmp_path, load_script):
    module = load_script("fault_injection")
    out = tmp_path / "figures.json"
    rc = module.main(["--kills", "1", "--stages", "preprocess,predict,compare", "--json", str(out)])
    rows = json.loads(out.read_text())["stages"]
    assert [r["stage"] for r in rows] == ["preprocess", "predict", "compare"]
    assert all(r["mixed"] == 0 and r["rerun_equal"] == r["kills"] == 1 for r in rows), rows
    assert rc == 0


def test_the_comparison_ignores_measured_values_only(tmp_path, load_script):
    module = load_script("fault_injection")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "m.json").write_text(json.dumps({"nme": 0.1, "seconds": 3.0, "created_utc": "x"}))
    (tmp_path / "a" / "m.timing.json").write_text("{}")
    first = module.content(tmp_path / "a")
    (tmp_path / "a" / "m.json").write_text(json.dumps({"nme": 0.1, "seconds": 4.0, "created_utc": "y"}))
    assert module.content(tmp_path / "a") == first == {"m.json": {"nme": 0.1}}
    (tmp_path / "a" / ".m.json.k2j4x.tmp").write_text("{")  # what a kill mid-write leaves: not an output
    assert module.content(tmp_path / "a") == first
    (tmp_path / "a" / "m.json").write_text(json.dumps({"nme": 0.2, "seconds": 4.0}))
    assert module.content(tmp_path / "a") != first
    assert module.content(tmp_path / "missing") is None
