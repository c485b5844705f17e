"""The reference run's wall time per stage group, from its timings CSV (scripts/dvc_queues.py --timings: queue,
stage, started, seconds, status, source).

A stage that ran more than once (interrupted, then resumed by the next `make reference`) counts every attempt:
its finished run as "done", the attempts cut short as "interrupted" (a resumable training keeps their work in
its checkpoint, the others redo it). Seconds are wall seconds of one queue, each stage at one thread; the
queues ran side by side on 2 cores, so the run's wall time is about half the sum.
"""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ("queue", "stage", "started", "seconds", "status", "source")


def append_timings(path: Path, rows: list[dict]) -> None:
    """Add rows (COLUMNS) to a timings CSV, writing its header when it is new: the file is kept across runs, so a
    run resumed after an interruption keeps its history."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows(rows)


def stage_group(stage: str) -> str:
    """`reference/dvc.yaml:predict_red_boxes@red-0-tracking` -> `predict_red_boxes` (the dvc.yaml stage)."""
    return stage.rpartition(":")[2].split("@", 1)[0]


def read_timings(path: Path) -> list[dict]:
    """The rows of a timings CSV, seconds as floats; a malformed file names itself and the line."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not a timings file (missing columns {sorted(missing)})")
        rows = []
        for row in reader:
            try:
                rows.append({**row, "seconds": float(row["seconds"])})
            except ValueError:
                bad = row["seconds"]
                raise ValueError(f"{path}, line {reader.line_num}: seconds {bad!r} is not a number") from None
    return rows


def wall_time_table(rows: list[dict]) -> str:
    """Per stage group: stages finished, their seconds (sum, mean, largest), the seconds of interrupted attempts,
    and where the figures come from; then the total and the 2-queue wall time it implies."""
    groups: dict[str, dict] = {}
    for r in rows:
        g = groups.setdefault(stage_group(r["stage"]), {"done": {}, "lost": 0.0, "sources": set()})
        g["sources"].add(r["source"])
        if r["status"] == "done":
            g["done"][r["stage"]] = r["seconds"]  # a stage run twice to the end (forced): its last run
        else:
            g["lost"] += r["seconds"]
    lines = ["| stage | finished | seconds | mean s | largest s | interrupted s | from |",
             "|---|---:|---:|---:|---:|---:|---|"]
    total = lost = 0.0
    for name, g in sorted(groups.items(), key=lambda kv: -sum(kv[1]["done"].values())):
        done = list(g["done"].values())
        s = sum(done)
        total, lost = total + s, lost + g["lost"]
        mean = f"{s / len(done):,.0f}" if done else "-"
        largest = f"{max(done):,.0f}" if done else "-"
        lines.append(f"| {name} | {len(done)} | {s:,.0f} | {mean} | {largest} | {g['lost']:,.0f} | "
                     f"{', '.join(sorted(g['sources']))} |")
    lines.append(f"| **all** | {sum(len(g['done']) for g in groups.values())} | {total:,.0f} | | | {lost:,.0f} | |")
    hours = (total + lost) / 3600
    return ("\n".join(lines) + f"\n\n{hours:.1f} hours of one core in all (finished and interrupted work), about "
            f"{hours / 2:.1f} hours of wall time in two queues on 2 cores.\n")
