from __future__ import annotations

import json

import pytest

from redbench.benchmark.check import (
    REFERENCE_SCHEMA,
    CheckError,
    compare_values,
    format_table,
    load_reference,
    tolerance_for,
)


def _ref(metrics, tolerances=None):
    return {"schema": REFERENCE_SCHEMA, "metrics": metrics, "tolerances": tolerances or {"default": {"abs": 0.01}}}


def _status(rows):
    return {r.key: r.status for r in rows}


def test_direction_and_tolerance():
    ref = _ref({"d/m/nme": 0.05, "d/m/auc@0.08": 0.5, "d/m/jitter": 0.02, "d/m/fr@0.08": 0.1})
    flat = {"d/m/nme": 0.065, "d/m/auc@0.08": 0.45, "d/m/jitter": 0.005, "d/m/fr@0.08": 0.105, "d/x/nme": 1.0}
    rows = compare_values(flat, ref)
    assert _status(rows) == {"d/m/nme": "regressed", "d/m/auc@0.08": "regressed", "d/m/jitter": "improved",
                             "d/m/fr@0.08": "ok", "d/x/nme": "new"}
    # higher AUC and lower NME are improvements
    rows = compare_values({"d/m/nme": 0.03, "d/m/auc@0.08": 0.6, "d/m/jitter": 0.02, "d/m/fr@0.08": 0.1}, ref)
    assert _status(rows)["d/m/nme"] == "improved" and _status(rows)["d/m/auc@0.08"] == "improved"


def test_missing_metric_and_nan():
    rows = compare_values({"a/b/nme": float("nan")}, _ref({"a/b/nme": 0.05, "a/c/nme": 0.05}))
    assert _status(rows) == {"a/b/nme": "regressed", "a/c/nme": "missing"}
    rows = compare_values({"a/b/jitter": None}, _ref({"a/b/jitter": None}))
    assert _status(rows) == {"a/b/jitter": "ok"}


def test_tolerance_lookup_order():
    tols = {"default": {"abs": 1}, "*/nme": {"abs": 2}, "d/m/nme": {"abs": 3}, "*auc@*": {"rel": 0.1}}
    assert tolerance_for("d/m/nme", tols) == {"abs": 3}
    assert tolerance_for("d/x/nme", tols) == {"abs": 2}
    assert tolerance_for("d/x/auc@0.1", tols) == {"rel": 0.1}
    assert tolerance_for("d/x/jitter", tols) == {"abs": 1}
    # rel scales with the reference value; params override the file's tolerances
    rows = compare_values({"k/m/nme": 0.105}, _ref({"k/m/nme": 0.1}, {"default": {"abs": 0.0, "rel": 0.1}}))
    assert rows[0].allowed == pytest.approx(0.01) and rows[0].status == "ok"
    rows = compare_values({"k/m/nme": 0.105}, _ref({"k/m/nme": 0.1}, {"default": {"rel": 0.1}}),
                          tolerances={"*/nme": {"abs": 0.001}})
    assert rows[0].status == "regressed"


def test_format_table_lists_failures_only():
    rows = compare_values({"d/m/nme": 0.2, "d/n/nme": 0.05}, _ref({"d/m/nme": 0.05, "d/n/nme": 0.05}))
    text = format_table(rows)
    assert "d/m/nme" in text and "+0.15" in text and "regressed" in text and "d/n/nme" not in text
    assert "d/n/nme" in format_table(rows, show_all=True)


def test_load_reference_errors(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{")
    with pytest.raises(CheckError, match="r.json: not valid JSON"):
        load_reference(bad)
    bad.write_text(json.dumps({"metrics": {}}))
    with pytest.raises(CheckError, match="not a redbench reference"):
        load_reference(bad)
    with pytest.raises(FileNotFoundError):
        load_reference(tmp_path / "none.json")


def test_committed_reference_is_usable():
    from pathlib import Path

    import redbench.benchmark as pkg

    path = Path(pkg.__file__).parent / "reference" / "micro.json"
    ref = load_reference(path)
    assert ref["metrics"] and all(k.startswith("synthetic/") for k in ref["metrics"])  # never shown as real
    assert set(ref["source"]["data_source"].values()) == {"synthetic"}
    # checking the reference against its own numbers passes; a 10% worse NME fails
    assert all(r.status == "ok" for r in compare_values(dict(ref["metrics"]), ref))
    worse = {k: (v * 1.1 + 0.01 if k.endswith("/nme") and v is not None else v) for k, v in ref["metrics"].items()}
    assert any(r.status == "regressed" for r in compare_values(worse, ref))
