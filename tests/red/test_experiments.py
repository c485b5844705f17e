import json

import pytest

from redbench.red.experiments import by_row, read_runs, rows_markdown, runs_csv


def _run(root, name, seed, best, diag=None):
    d = root / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps({"best_val_nme_inter_ocular": best, "val_nme_inter_ocular": best + 0.01,
                                                "epochs": 12, "cost": {"wall_s": 60.0}}))
    (d / "train_info.json").write_text(json.dumps({"seed": seed}))
    if diag:
        (d / "diagnostics.json").write_text(json.dumps(diag))


def test_runs_group_into_rows_over_seeds(tmp_path):
    _run(tmp_path, "seed-0", 0, 0.10, {"as_is": 0.10, "state_reset": 0.12, "shuffled": 0.11})
    _run(tmp_path, "seed-1", 1, 0.14, {"as_is": 0.14, "state_reset": 0.14, "shuffled": 0.15})
    _run(tmp_path, "variant-static_seed-0", 0, 0.20)
    (tmp_path / "variant-static_seed-1.partial").mkdir()  # unfinished: not read
    runs = read_runs(tmp_path)
    assert [(r["row"], r["seed"]) for r in runs] == [("defaults", 0), ("defaults", 1), ("variant-static", 0)]
    rows = {r["row"]: r for r in by_row(runs)}
    assert rows["defaults"]["mean"] == pytest.approx(0.12) and rows["defaults"]["range"] == pytest.approx(0.04)
    assert rows["variant-static"]["seeds"] == [0]
    md = rows_markdown(runs)
    assert "| defaults | 2 | 12.00 [10.00, 14.00] | 4.00 | 12.00 | 13.00 | 13.00 |" in md
    assert "| variant-static | 1 | 20.00 [20.00, 20.00] | 0.00 | - | - | - |" in md
    assert runs_csv(runs).splitlines()[1] == "defaults,0,0.1,0.11,12,60.0,0.1,0.12,0.11"


def test_diagnostics_csv_lists_runs_with_diagnostics_only(tmp_path):
    from redbench.red.experiments import diagnostics_csv

    _run(tmp_path, "seed-0", 0, 0.10, {"as_is": 0.1, "state_reset": 0.12, "shuffled": 0.11})
    _run(tmp_path, "variant-static_seed-0", 0, 0.20)
    assert diagnostics_csv(read_runs(tmp_path)).splitlines() == ["method,seed,as_is,state_reset,shuffled",
                                                                 "defaults,0,0.1,0.12,0.11"]
