"""Run DVC stages in parallel queues: each queue is one `dvc repro --single-item` over its stages, in order.

DVC runs the stages of one `dvc repro` one after the other. It does release the repository lock while a
stage's command runs (dvc/stage/run.py: `unlocked_repo`) and guards each stage's deps and outs with its own
read/write lock, so two `dvc --wait-for-lock repro -s ...` over disjoint stages run side by side and both record
their stages in the same dvc.lock. On 2 cores that halves the wall time of single-threaded trainings.

The queues are only a schedule: a stage's command, params and outputs are the dvc.yaml's, so a stage run here
has the same bytes as under a plain `dvc repro`, which the Makefile runs afterwards to do whatever is left
(and to check that nothing is). Every stage a queue names must have its upstream stages done before the
queues start (`-s` runs a stage without looking upstream).

    python scripts/dvc_queues.py --queue "train_red@red" --queue "train_red@red_static train_sdm"

Exit status: 0 when every queue succeeded; otherwise 1, naming each failed queue (the others run to the end,
so their finished stages are kept).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path


def queue_command(dvc: str, stages: list[str], force: bool = False) -> list[str]:
    """The argv of one queue: its stages in one single-item repro that waits for the repository lock."""
    return [dvc, "--wait-for-lock", "repro", "--single-item", *(["--force"] if force else []), *stages]


def stage_key(address: str) -> tuple[str, str]:
    """(dvc.yaml path, stage name) of a stage address: `train@sdm`, `dvc.yaml:train@sdm` and
    `./dvc.yaml:train@sdm` are one stage (DVC reads a bare name from ./dvc.yaml)."""
    path, _, name = address.rpartition(":")
    return os.path.normpath(path or "dvc.yaml"), name


def overlapping(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether two stage keys run a stage in common: the same stage, or a foreach group (`train`) and one of
    its items (`train@sdm`)."""
    def group(name: str) -> str:
        return name.split("@", 1)[0]

    return a[0] == b[0] and (a[1] == b[1] or a[1] == group(b[1]) or b[1] == group(a[1]))


def run_queues(queues: list[list[str]], dvc: str = "dvc", cwd: Path | None = None, force: bool = False,
               log_dir: Path | None = None) -> list[int]:
    """Start every queue at once, wait for all; their exit codes in queue order. A queue's output goes to
    log_dir/queue<i>.log when given (else it is inherited, interleaved)."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    procs, logs = [], []
    for i, stages in enumerate(queues):
        out = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            out = open(log_dir / f"queue{i}.log", "w")
            logs.append(out)
        procs.append(subprocess.Popen(queue_command(dvc, stages, force), cwd=cwd, env=env, stdout=out,
                                      stderr=subprocess.STDOUT if out else None))
        time.sleep(0.5)  # the first repro takes the lock to collect its stages; the others wait for it
    try:
        return [p.wait() for p in procs]
    finally:
        for f in logs:
            f.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queue", action="append", required=True, metavar="STAGES",
                    help="space-separated stage addresses (dvc.yaml names, or path/dvc.yaml:name) run in order")
    ap.add_argument("--dvc", default="dvc", help="the dvc executable")
    ap.add_argument("--force", action="store_true", help="run the stages even when they are up to date")
    ap.add_argument("--log-dir", type=Path, help="write each queue's output to LOG_DIR/queue<i>.log")
    args = ap.parse_args(argv)
    queues = [shlex.split(q) for q in args.queue]
    if any(not q for q in queues):
        ap.error("a --queue names no stage")
    seen: list[tuple[str, tuple[str, str]]] = []
    for q in queues:
        for s in q:
            key = stage_key(s)
            other = next((a for a, k in seen if overlapping(k, key)), None)
            if other is not None:
                also = "" if other == s else f" (also as {other!r})"
                ap.error(f"stage {s!r} is in two queues{also} (they would race on its outputs)")
            seen.append((s, key))
    if shutil.which(args.dvc) is None:
        print(f"dvc_queues: {args.dvc}: no such executable (give the dvc to run with --dvc)", file=sys.stderr)
        return 1
    try:
        codes = run_queues(queues, args.dvc, force=args.force, log_dir=args.log_dir)
    except OSError as e:
        print(f"dvc_queues: {e.filename or args.dvc}: {e.strerror or e}", file=sys.stderr)
        return 1
    failed = [i for i, c in enumerate(codes) if c != 0]
    for i in failed:
        print(f"dvc_queues: queue {i} ({' '.join(queues[i])}) failed with exit status {codes[i]}",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
