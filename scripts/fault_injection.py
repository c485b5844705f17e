"""Kill pipeline stages with SIGKILL at random moments and check that nothing half-written is left.

On a tiny synthetic configuration in a temporary folder: one uninterrupted run of fetch -> preprocess ->
train mean_shape -> predict -> compare gives the reference outputs. Then, N times per stage, the stage is
started (alternately over its previous complete output and over nothing), killed with SIGKILL after a random
delay within its measured run time, and its output is inspected: it must be absent or complete and equal to
the reference (the previous output, which has the same content). The stage is then re-run to completion and
its output must equal the reference. Measured values (seconds, dates, the git commit) are ignored when
comparing; everything else must match byte for byte.

    .venv/bin/python scripts/fault_injection.py --kills 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARAMS = """\
synthetic: {seed: 0, n_identities_train: 2, n_identities_test: 2, vw_train_videos: 2,
            vw_test_videos_per_category: 1, vw_frames: 12, w300_afw: 1, w300_helen_train: 1, w300_lfpw_train: 1,
            w300_helen_test: 1, w300_lfpw_test: 1, w300_ibug: 1, tf_frames: 2}
preprocess: {crop_size: 32, block_frames: 4, shard_mb: 0.02}
train: {datasets: [300vw]}
compare: {methods: [mean_shape], datasets: [300vw], bootstrap: {resamples: 20}}
"""
# stage -> (command, output path); each stage needs the outputs of the stages before it
STAGES = {
    "fetch": (["fetch", "300vw"], "data/raw/300vw"),
    "preprocess": (["preprocess", "300vw"], "data/shards/300vw"),
    "train": (["train", "mean_shape"], "models/mean_shape"),
    "predict": (["predict", "mean_shape", "300vw"], "predictions/mean_shape"),
    "compare": (["compare", "--no-plots"], "results"),
}
VOLATILE = ("second", "time", "created", "git_commit", "duration")


def _redbench(work: Path, args: list[str]) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("redbench")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DVC_NO_ANALYTICS": "1"}
    return subprocess.Popen([str(exe), "-q", *args], cwd=work, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not any(w in k for w in VOLATILE)}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def content(path: Path) -> dict[str, object] | None:
    """relative path -> bytes (JSON: parsed, measured values dropped); None when `path` does not exist."""
    if not path.exists():
        return None
    out: dict[str, object] = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if not p.is_file() or rel.endswith(".timing.json") or rel.startswith("leaderboard."):
            continue  # timings are measured; leaderboards render metrics.json (dates included)
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            continue  # an atomic write's temporary file (_io.atomic_path) that a kill left: no reader opens it
        out[rel] = _strip(json.loads(p.read_text())) if p.suffix == ".json" else p.read_bytes()
    return out


def run_to_end(work: Path, stage: str) -> float:
    t0 = time.monotonic()
    proc = _redbench(work, STAGES[stage][0])
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"redbench {' '.join(STAGES[stage][0])} failed in {work}:\n{err.decode()}")
    return time.monotonic() - t0


def inject(stage: str, kills: int, ref: Path, base: Path, durations: dict[str, float], rng: random.Random) -> dict:
    """Kill `stage` `kills` times; counts of kills that landed, mixed outputs and equal outputs."""
    want = content(ref / STAGES[stage][1])
    stats = {"stage": stage, "kills": kills, "killed_running": 0, "mixed": 0, "absent": 0, "previous_or_new": 0,
             "rerun_equal": 0}
    order = list(STAGES)
    for k in range(kills):
        work = base / f"{stage}-{k}"
        work.mkdir()
        shutil.copy(ref / "params.yaml", work)
        for before in order[:order.index(stage) + (k % 2)]:  # odd k: the previous complete output is there
            src = ref / STAGES[before][1]
            shutil.copytree(src, work / STAGES[before][1])
        proc = _redbench(work, STAGES[stage][0])
        time.sleep(rng.uniform(0, durations[stage]))
        if proc.poll() is None:
            stats["killed_running"] += 1
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        got = content(work / STAGES[stage][1])
        if got is None:
            stats["absent"] += 1
        elif got == want:
            stats["previous_or_new"] += 1
        else:
            stats["mixed"] += 1
            print(f"  {stage} kill {k}: half-written output in {work}", file=sys.stderr)
        run_to_end(work, stage)
        stats["rerun_equal"] += content(work / STAGES[stage][1]) == want
        shutil.rmtree(work, ignore_errors=True)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=5, help="kills per stage")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of " + ",".join(STAGES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    stages = args.stages.split(",")
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        ap.error(f"unknown stage(s) {unknown}; known: {list(STAGES)}")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="redbench-faults-") as tmp:
        ref = Path(tmp) / "ref"
        ref.mkdir()
        (ref / "params.yaml").write_text(PARAMS)
        durations = {s: run_to_end(ref, s) for s in STAGES}
        rows = [inject(s, args.kills, ref, Path(tmp), durations, rng) for s in stages]
    print(f"{'stage':<11} {'kills':>5} {'mid-run':>7} {'absent':>6} {'complete':>8} {'mixed':>5} {'rerun equal':>11}")
    for r in rows:
        print(f"{r['stage']:<11} {r['kills']:>5} {r['killed_running']:>7} {r['absent']:>6} "
              f"{r['previous_or_new']:>8} {r['mixed']:>5} {r['rerun_equal']:>11}")
    if args.json:
        args.json.write_text(json.dumps({"durations_s": durations, "stages": rows}, indent=2) + "\n")
    bad = sum(r["mixed"] for r in rows) + sum(r["kills"] - r["rerun_equal"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
