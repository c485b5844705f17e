"""Timings rows for the stages of a DVC pipeline that ran before scripts/dvc_queues.py kept timings, from the
files they left (appended to the timings CSV that benchmark/wall_time.py reads):

- a training stage (its outputs hold a train_info.json): the training's own wall seconds, summed over the
  attempts it resumed from (cost.wall_s; source "train_info.json"); the work an interrupted attempt did after
  its last checkpoint and the stage's set-up and saving, seconds each, are not in it;
- a prediction stage (`predict_*`): the time from the newest output of the prediction stage before it to its
  own newest output, in the order their outputs were written (source "output file times"). The predictions ran
  one after the other in one queue, so the gap is the stage's time; a gap above --max-gap (a pause, a session's
  end, a training in the same queue) is not, and that stage is left out;
- the other stages (data, compare, report: minutes in all) are left out.

    python scripts/timings_from_files.py reference/dvc.lock --timings reference/timings.csv

Stages already in the timings CSV, and the lock's entries for stages that the dvc.yaml no longer has (an older
layout's), are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import yaml

from redbench.benchmark.wall_time import append_timings, read_timings

def stage_rows(lock: Path, known: set[str], max_gap: float) -> list[dict]:
    root = lock.parent
    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    defined = _defined_stages(lock.with_name("dvc.yaml"))
    prefix = f"{lock.with_name('dvc.yaml').as_posix()}:"
    rows, timed = [], []
    for name, entry in stages.items():
        address = prefix + name
        if address in known or name not in defined:
            continue
        outs = [root / o["path"] for o in entry.get("outs", [])]
        files = [p for o in outs for p in ([o] if o.is_file() else sorted(o.rglob("*")) if o.is_dir() else [])
                 if p.is_file()]
        if not files:
            continue
        end = max(p.stat().st_mtime for p in files)
        info = next((p for p in files if p.name == "train_info.json"), None)
        if info is not None:
            record = json.loads(info.read_text(encoding="utf-8"))
            seconds = float((record.get("cost") or {}).get("wall_s") or record["seconds"])  # summed over resumes
            rows.append(_row(address, end - seconds, seconds, "train_info.json"))
        elif name.startswith("predict_"):
            timed.append((end, address))
    timed.sort()
    for (before, _), (end, address) in zip(timed, timed[1:]):
        if end - before <= max_gap:
            rows.append(_row(address, before, end - before, "output file times"))
    return rows


def _defined_stages(dvc_yaml: Path) -> set[str]:
    """The names of the dvc.yaml's stages, foreach and matrix items expanded (DVC's own reading)."""
    from dvc.repo import Repo

    with Repo(str(dvc_yaml.parent)) as repo:
        return {stage.name for stage in repo.stage.collect(str(dvc_yaml))}


def _row(stage: str, start: float, seconds: float, source: str) -> dict:
    return {"queue": "", "stage": stage, "started": datetime.fromtimestamp(start, timezone.utc).isoformat(
        timespec="seconds"), "seconds": round(seconds, 1), "status": "done", "source": source}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lock", type=Path, help="the pipeline's dvc.lock (its outputs are read beside it)")
    ap.add_argument("--timings", type=Path, required=True, help="the timings CSV to add to")
    ap.add_argument("--max-gap", type=float, default=900.0, help="seconds (default 900)")
    args = ap.parse_args(argv)
    if not args.lock.is_file():
        print(f"timings_from_files: {args.lock}: no such lock file", file=sys.stderr)
        return 1
    known = set()
    if args.timings.exists() and args.timings.stat().st_size:
        try:
            known = {r["stage"] for r in read_timings(args.timings)}
        except ValueError as e:  # names the file and the line
            print(f"timings_from_files: {e}", file=sys.stderr)
            return 1
    rows = stage_rows(args.lock, known, args.max_gap)
    append_timings(args.timings, rows)
    print(f"timings_from_files: {len(rows)} stages added to {args.timings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
