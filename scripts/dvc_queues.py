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

With --timings FILE, each stage's wall time (from DVC's "Running stage" lines to the next, or to the end of its
queue) is appended to FILE: a run resumed after an interruption adds its rows, the interrupted stage marked.

Exit status: 0 when every queue succeeded; otherwise 1, naming each failed queue (the others run to the end,
so their finished stages are kept).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
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


RUNNING = re.compile(r"^Running stage '([^']+)':")
TIMINGS = ("queue", "stage", "started", "seconds", "status", "source")


class StageClock:
    """The wall time of each stage of one queue, from DVC's "Running stage 'X':" lines: a stage ends where the
    next one starts or where the queue's repro exits (status "done", "exit N", or "interrupted" when this script is
    stopped)."""

    def __init__(self, queue: int, now=time.time):
        self.queue, self.now, self.rows = queue, now, []
        self.stopping = False  # set when this script is stopped: the repro's exit is then an interruption
        self._current: tuple[str, float] | None = None

    def line(self, text: str) -> None:
        m = RUNNING.match(text)
        if m:
            self._close("done")
            self._current = (m.group(1), self.now())

    def exit(self, code: int) -> None:
        self._close("interrupted" if self.stopping else "done" if code == 0 else f"exit {code}")

    def interrupted(self) -> None:
        self._close("interrupted")

    def _close(self, status: str) -> None:
        if self._current is not None:
            stage, start = self._current
            self.rows.append({"queue": self.queue, "stage": stage,
                              "started": datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"),
                              "seconds": round(self.now() - start, 1), "status": status, "source": "queue log"})
            self._current = None


def _relay(proc: subprocess.Popen, sink, clock: StageClock) -> None:
    """Copy a queue's output line by line to its log (or our stdout), feeding the stage clock, which the repro's
    exit closes (when it exits, not when the other queues do)."""
    for raw in iter(proc.stdout.readline, b""):
        text = raw.decode("utf-8", errors="replace")
        clock.line(text)
        sink.write(text)
        sink.flush()
    clock.exit(proc.wait())


def append_timings(path: Path, rows: list[dict]) -> None:
    """Add rows to the timings CSV (kept across runs, so a run resumed after an interruption keeps its history)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TIMINGS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows(rows)


def run_queues(queues: list[list[str]], dvc: str = "dvc", cwd: Path | None = None, force: bool = False,
               log_dir: Path | None = None, timings: Path | None = None) -> list[int]:
    """Start every queue at once, wait for all; their exit codes in queue order. A queue's output goes to
    log_dir/queue<i>.log when given (else to our stdout, interleaved); with `timings`, each stage's wall time is
    appended to that CSV (TIMINGS' columns) when its queue ends."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    procs, sinks, relays, clocks = [], [], [], []
    for i, stages in enumerate(queues):
        sink = sys.stdout
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            sink = open(log_dir / f"queue{i}.log", "w")
            sinks.append(sink)
        proc = subprocess.Popen(queue_command(dvc, stages, force), cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        clocks.append(StageClock(i))
        relays.append(threading.Thread(target=_relay, args=(proc, sink, clocks[-1]), daemon=True))
        relays[-1].start()
        procs.append(proc)
        time.sleep(0.5)  # the first repro takes the lock to collect its stages; the others wait for it
    try:
        codes = [proc.wait() for proc in procs]
        for relay in relays:
            relay.join()
    finally:
        for clock in clocks:  # interrupted (Ctrl-C, SIGTERM): the running stages are written as such
            clock.stopping = True
        for proc in procs:  # and the queues' repros stopped (their stages resume later)
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
        for relay in relays:
            relay.join(timeout=10)
        for clock in clocks:
            clock.interrupted()
        if timings is not None:
            append_timings(timings, [r for c in clocks for r in c.rows])
        for f in sinks:
            f.close()
    return codes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queue", action="append", required=True, metavar="STAGES",
                    help="space-separated stage addresses (dvc.yaml names, or path/dvc.yaml:name) run in order")
    ap.add_argument("--dvc", default="dvc", help="the dvc executable")
    ap.add_argument("--force", action="store_true", help="run the stages even when they are up to date")
    ap.add_argument("--log-dir", type=Path, help="write each queue's output to LOG_DIR/queue<i>.log")
    ap.add_argument("--timings", type=Path, help="append each stage's wall time to this CSV (queue, stage, "
                    "started, seconds, status, source)")
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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so that run_queues' finally runs
    try:
        codes = run_queues(queues, args.dvc, force=args.force, log_dir=args.log_dir, timings=args.timings)
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
