"""Summaries of training experiments: one folder per (row, seed), `<row>_seed-N/` with train_log.csv,
metrics.json, train_info.json and, for RED with train.diagnostics, diagnostics.json (RED's were written by
`redbench train red --set ... --out` runs, the reference profile's studies by scripts/validation_study.py),
grouped into rows over seeds. Validation NME: inter-ocular, 68 points, gt boxes, the held-out validation people
(RED: run online over whole clips, as the experiment params ask)."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from pathlib import Path

_SEED = re.compile(r"(^|_)seed-(\d+)$")
RUN_FIELDS = ("row", "seed", "best_val_nme", "final_val_nme", "epochs", "wall_s", "as_is", "state_reset", "shuffled")


def read_runs(root: str | Path) -> list[dict]:
    """Every finished run under root (folders with train_log.csv and metrics.json; `.partial` ones skipped)."""
    runs = []
    for folder in sorted(Path(root).iterdir()):
        metrics, info = folder / "metrics.json", folder / "train_info.json"
        if folder.suffix == ".partial" or not (metrics.exists() and info.exists()):
            continue
        m = json.loads(metrics.read_text())
        diag_path = folder / "diagnostics.json"
        diag = json.loads(diag_path.read_text()) if diag_path.exists() else {}
        row = _SEED.sub("", folder.name) or "defaults"
        runs.append({"row": row, "seed": json.loads(info.read_text())["seed"],
                     "best_val_nme": m["best_val_nme_inter_ocular"], "final_val_nme": m["val_nme_inter_ocular"],
                     "epochs": m["epochs"], "wall_s": (m.get("cost") or {}).get("wall_s"),
                     **{k: diag.get(k) for k in ("as_is", "state_reset", "shuffled")}})
    return runs


def by_row(runs: list[dict], key: str = "best_val_nme") -> list[dict]:
    """Per row: seeds, mean, min, max and range (max - min) of `key` over its seeds."""
    rows: dict[str, list[dict]] = {}
    for r in runs:
        rows.setdefault(r["row"], []).append(r)
    out = []
    for row, rs in rows.items():
        v = [r[key] for r in rs]
        out.append({"row": row, "seeds": sorted(r["seed"] for r in rs), "mean": statistics.fmean(v),
                    "min": min(v), "max": max(v), "range": max(v) - min(v)})
    return out


def runs_csv(runs: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RUN_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows({k: r.get(k) for k in RUN_FIELDS} for r in runs)
    return buf.getvalue()


def rows_markdown(runs: list[dict]) -> str:
    """The per-row table: best validation NME (%) over seeds as mean [min, max], range, and the diagnostics' means."""
    lines = ["| row | seeds | best val NME % mean [min, max] | range (points) | as is | state reset | shuffled |",
             "|---|---|---|---|---|---|---|"]
    for s in by_row(runs):
        rs = [r for r in runs if r["row"] == s["row"]]
        diag = [statistics.fmean(r[k] for r in rs) if all(r[k] is not None for r in rs) else None
                for k in ("as_is", "state_reset", "shuffled")]
        d = " | ".join("-" if v is None else f"{100 * v:.2f}" for v in diag)
        lines.append(f"| {s['row']} | {len(s['seeds'])} | {100 * s['mean']:.2f} [{100 * s['min']:.2f}, "
                     f"{100 * s['max']:.2f}] | {100 * s['range']:.2f} | {d} |")
    return "\n".join(lines) + "\n"


def diagnostics_csv(runs: list[dict]) -> str:
    """method (the row), seed, as_is, state_reset, shuffled: validation NME of every run that has diagnostics."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "seed", "as_is", "state_reset", "shuffled"])
    w.writerows([r["row"], r["seed"], r["as_is"], r["state_reset"], r["shuffled"]] for r in runs
                if r["as_is"] is not None)
    return buf.getvalue()
