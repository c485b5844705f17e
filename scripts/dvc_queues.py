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

With --stages and --jobs N instead of queues, N workers each run one stage at a time (`dvc repro --single-item`):
a free worker takes the first stage in the given order whose upstream stages among them have succeeded (DVC's
graph), so a core idles only when no work is ready; a stage downstream of a failure is not run.

    python scripts/dvc_queues.py --jobs 2 --stages "train_red train_sdm predict_red predict_sdm"

With --timings FILE, each stage's wall time (from DVC's "Running stage" lines to the next, or to the end of its
queue) is appended to FILE: a run resumed after an interruption adds its rows, the interrupted stage marked.

Exit status: 0 when every queue succeeded; otherwise 1, naming each failed queue (the others run to the end,
so their finished stages are kept).
"""

from __future__ import annotations

import argparse
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

from redbench.benchmark.wall_time import append_timings


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


def run_queues(queues: list[list[str]], dvc: str = "dvc", cwd: Path | None = None, force: bool = False,
               log_dir: Path | None = None, timings: Path | None = None) -> list[int]:
    """Start every queue at once, wait for all; their exit codes in queue order. A queue's output goes to
    log_dir/queue<i>.log when given (else to our stdout, interleaved); with `timings`, each stage's wall time is
    appended to that CSV (benchmark/wall_time.py's columns) when its queue ends."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    procs, sinks, relays, clocks = [], [], [], []
    try:  # from the first start on: an interruption during the start-up stops what has started
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
        codes = [proc.wait() for proc in procs]
        for relay in relays:
            relay.join()
    finally:
        _finish(clocks, procs, relays, timings, sinks)
    return codes


def _finish(clocks: list[StageClock], procs: list[subprocess.Popen], threads: list[threading.Thread],
            timings: Path | None, sinks: list) -> None:
    """After a run, or when it is interrupted (Ctrl-C, SIGTERM): stop the repros still running (their stages
    resume later) and write the stages they ran as interrupted, append the timings, close the logs."""
    for clock in clocks:
        clock.stopping = True
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    for t in threads:
        t.join(timeout=10)
    for clock in clocks:
        clock.interrupted()
    if timings is not None:
        append_timings(timings, [r for c in clocks for r in c.rows])
    for f in sinks:
        f.close()


def stage_graph(addresses: list[str], cwd: Path | None = None) -> tuple[list[str], dict[str, set[str]]]:
    """The stages the addresses name (a foreach / matrix group: all its items), in the order given, and for each
    the stages among them it depends on, directly or not (DVC's own reading of the pipeline)."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(cwd or ".")) as repo:
        graph = repo.index.graph  # edges go from a stage to the stages it depends on
        found = {}
        for address in addresses:
            path, name = stage_key(address)  # DVC reads a target's path from the process's directory
            for stage in repo.stage.collect(f"{Path(cwd or '.').resolve() / path}:{name}"):
                file = Path(os.path.relpath(stage.path, repo.root_dir)).as_posix()  # addressed from the root
                found.setdefault(stage.name if file == "dvc.yaml" else f"{file}:{stage.name}", stage)
        names = {stage: name for name, stage in found.items()}
        upstream = {name: {names[s] for s in nx.descendants(graph, stage) if s in names}
                    for name, stage in found.items()}
    return list(found), upstream


def run_workers(stages: list[str], upstream: dict[str, set[str]], jobs: int, dvc: str = "dvc",
                cwd: Path | None = None, force: bool = False, log_dir: Path | None = None,
                timings: Path | None = None) -> dict[str, int | None]:
    """Run the stages on `jobs` workers, each a `dvc repro --single-item` of one stage at a time: a free worker
    takes the first stage in `stages` order whose upstream stages have all succeeded, so no core idles while
    work is ready. A stage downstream of a failed one is not run (None). Returns stage -> exit code. The
    workers' output goes to log_dir/worker<i>.log (else to our stdout); timings as run_queues' (queue =
    worker)."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    cond = threading.Condition()
    pending, running, ok, results = list(stages), {}, set(), {}

    def take() -> str | None:  # with cond held
        changed = True
        while changed:  # what a failure blocks is settled first
            changed = False
            for s in list(pending):
                if any(u in results and results[u] != 0 for u in upstream[s]):
                    pending.remove(s)
                    results[s] = None
                    changed = True
        for s in pending:
            if upstream[s] <= ok:
                pending.remove(s)
                return s
        return None

    clocks = [StageClock(i) for i in range(jobs)]
    sinks = []
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        sinks = [open(log_dir / f"worker{i}.log", "w") for i in range(jobs)]

    def worker(i: int) -> None:
        sink = sinks[i] if sinks else sys.stdout
        while True:
            with cond:
                stage = take()
                while stage is None and pending and running:  # the rest waits for what runs now
                    cond.wait()
                    stage = take()
                if stage is None:  # nothing left (or stopped)
                    return
                try:
                    proc = subprocess.Popen(queue_command(dvc, [stage], force), cwd=cwd, env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                except OSError as e:  # counted as a failure, not lost with this thread
                    sink.write(f"dvc_queues: {stage}: {e.strerror or e}\n")
                    results[stage] = 127
                    cond.notify_all()
                    continue
                running[stage] = proc
            _relay(proc, sink, clocks[i])
            with cond:
                del running[stage]
                results[stage] = proc.returncode
                if proc.returncode == 0:
                    ok.add(stage)
                cond.notify_all()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(jobs)]
    try:
        for t in threads:
            t.start()
            time.sleep(0.5)  # as run_queues: the first repro takes the lock first
        for t in threads:
            t.join()
    finally:
        with cond:
            pending.clear()  # stopped: nothing more is taken
            procs = list(running.values())
        _finish(clocks, procs, threads, timings, sinks)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--queue", action="append", metavar="STAGES",
                      help="space-separated stage addresses (dvc.yaml names, or path/dvc.yaml:name) run in order")
    mode.add_argument("--stages", metavar="STAGES",
                      help="space-separated stage addresses for --jobs workers, in the order they are taken")
    ap.add_argument("--jobs", type=int, default=2, help="workers for --stages (default 2)")
    ap.add_argument("--dvc", default="dvc", help="the dvc executable")
    ap.add_argument("--force", action="store_true", help="run the stages even when they are up to date")
    ap.add_argument("--log-dir", type=Path, help="write each queue's output to LOG_DIR/queue<i>.log")
    ap.add_argument("--timings", type=Path, help="append each stage's wall time to this CSV (queue, stage, "
                    "started, seconds, status, source)")
    args = ap.parse_args(argv)
    if args.stages is not None:
        if args.jobs < 1:
            ap.error("--jobs must be at least 1")
        if not shlex.split(args.stages):
            ap.error("--stages names no stage")
    else:
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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so that the runs' finally runs
    if args.stages is not None:
        return _main_workers(args)
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


def _main_workers(args: argparse.Namespace) -> int:
    try:
        stages, upstream = stage_graph(shlex.split(args.stages))
    except Exception as e:  # DVC's own error: a stage address that names nothing, a broken dvc.yaml
        print(f"dvc_queues: --stages: {e}", file=sys.stderr)
        return 1
    results = run_workers(stages, upstream, args.jobs, args.dvc, force=args.force, log_dir=args.log_dir,
                          timings=args.timings)
    failed = [s for s, code in results.items() if code]
    skipped = [s for s, code in results.items() if code is None]
    for s in failed:
        print(f"dvc_queues: stage {s} failed with exit status {results[s]}", file=sys.stderr)
    if skipped:
        print(f"dvc_queues: not run, downstream of a failure: {' '.join(skipped)}", file=sys.stderr)
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
