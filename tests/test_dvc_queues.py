"""scripts/dvc_queues.py: DVC stages in parallel queues record every stage in one dvc.lock, as `dvc repro` would."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dvc_queues.py"
DVC = str(Path(sys.executable).with_name("dvc"))

pytestmark = pytest.mark.skipif(not Path(DVC).exists() or shutil.which("git") is None,
                                reason="needs dvc beside this Python, and git")


def _repo(tmp_path: Path, fail_b: bool = False) -> Path:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run([DVC, "init", "-q"], cwd=tmp_path, check=True, env=env)
    b = "exit 3" if fail_b else "python -c \"open('b.txt','w').write('b')\""
    (tmp_path / "dvc.yaml").write_text(textwrap.dedent(f"""\
        stages:
          a:
            cmd: python -c "import time; time.sleep(3); open('a.txt','w').write('a')"
            outs: [a.txt]
          b:
            cmd: {b}
            outs: [b.txt]
          c:
            cmd: python -c "open('c.txt','w').write('c')"
            outs: [c.txt]
          d:
            cmd: python -c "open('d.txt','w').write(open('a.txt').read() + open('c.txt').read())"
            deps: [a.txt, c.txt]
            outs: [d.txt]
        """))
    return tmp_path


def _locked_stages(repo: Path) -> set[str]:
    import yaml

    return set(yaml.safe_load((repo / "dvc.lock").read_text())["stages"])


def test_queues_record_every_stage_and_leave_nothing_for_repro(tmp_path, load_script):
    repo = _repo(tmp_path)
    codes = load_script("dvc_queues").run_queues([["a", "c"], ["b"]], dvc=DVC, cwd=repo, log_dir=repo / "logs",
                                                 timings=repo / "timings.csv")
    assert codes == [0, 0]
    with open(repo / "timings.csv", newline="") as f:
        rows = {r["stage"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"a", "b", "c"} and {r["status"] for r in rows.values()} == {"done"}
    assert rows["a"]["queue"] == "0" and rows["b"]["queue"] == "1" and float(rows["a"]["seconds"]) >= 3.0
    # b's queue ended first: b ends with its own repro, not with queue 0's
    assert float(rows["b"]["seconds"]) < float(rows["a"]["seconds"])
    assert "Running stage 'a'" in (repo / "logs" / "queue0.log").read_text()
    assert _locked_stages(repo) == {"a", "b", "c"}
    assert (repo / "a.txt").read_text() == "a" and (repo / "b.txt").read_text() == "b"
    # d was in no queue: a plain repro runs it and only it; then everything is up to date
    out = subprocess.run([DVC, "repro"], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert "Running stage 'd'" in out and "Running stage 'a'" not in out and "Running stage 'b'" not in out
    status = subprocess.run([DVC, "status", "--json"], cwd=repo, capture_output=True, text=True, check=True)
    assert json.loads(status.stdout) == {}


def test_a_failed_queue_fails_the_run_and_keeps_the_other_queues_work(tmp_path, capsys, monkeypatch, load_script):
    repo = _repo(tmp_path, fail_b=True)
    monkeypatch.chdir(repo)
    code = load_script("dvc_queues").main(["--dvc", DVC, "--queue", "a c", "--queue", "b", "--log-dir", "logs",
                                           "--timings", "t.csv"])
    assert code == 1
    assert "queue 1 (b) failed" in capsys.readouterr().err
    statuses = {r["stage"]: r["status"] for r in csv.DictReader(open(repo / "t.csv", newline=""))}
    assert statuses["a"] == statuses["c"] == "done" and statuses["b"].startswith("exit ")  # dvc: 255
    assert _locked_stages(repo) == {"a", "c"}


def test_a_stage_in_two_queues_is_refused(capsys, load_script):
    with pytest.raises(SystemExit) as e:
        load_script("dvc_queues").main(["--queue", "a b", "--queue", "b"])
    assert e.value.code == 2
    assert "'b' is in two queues" in capsys.readouterr().err


def test_the_stage_clock_ends_a_stage_where_the_next_starts_or_the_queue_exits(load_script):
    ticks = iter([10.0, 12.5, 12.5, 20.0])
    clock = load_script("dvc_queues").StageClock(3, now=lambda: next(ticks))
    for line in ["Verifying data sources\n", "Running stage 'x':\n", "> cmd\n", "Running stage 'y':\n"]:
        clock.line(line)
    clock.exit(130)
    assert [(r["queue"], r["stage"], r["seconds"], r["status"]) for r in clock.rows] == [
        (3, "x", 2.5, "done"), (3, "y", 7.5, "exit 130")]
    assert {r["source"] for r in clock.rows} == {"queue log"}
    assert clock.rows[0]["started"] == "1970-01-01T00:00:10+00:00"


def test_a_terminated_run_stops_its_queues_and_writes_the_running_stage_as_interrupted(tmp_path):
    repo = _repo(tmp_path)
    (repo / "dvc.yaml").write_text((repo / "dvc.yaml").read_text().replace("time.sleep(3)", "time.sleep(60)"))
    run = subprocess.Popen([sys.executable, str(SCRIPT), "--dvc", DVC, "--queue", "a", "--log-dir", "logs",
                            "--timings", "t.csv"], cwd=repo, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    log = repo / "logs" / "queue0.log"
    for _ in range(300):  # until stage a runs
        if log.exists() and "Running stage 'a'" in log.read_text():
            break
        time.sleep(0.1)
    run.terminate()
    assert run.wait(timeout=60) == 128 + signal.SIGTERM
    rows = list(csv.DictReader(open(repo / "t.csv", newline="")))
    assert [(r["stage"], r["status"]) for r in rows] == [("a", "interrupted")]
    assert not (repo / "a.txt").exists()


def test_workers_take_each_stage_when_its_upstream_is_done(tmp_path, load_script):
    repo = _repo(tmp_path)
    mod = load_script("dvc_queues")
    stages, upstream = mod.stage_graph(["d", "a", "b", "c"], cwd=repo)
    assert stages == ["d", "a", "b", "c"] and upstream["d"] == {"a", "c"} and upstream["a"] == set()
    results = mod.run_workers(stages, upstream, 2, dvc=DVC, cwd=repo, log_dir=repo / "logs",
                              timings=repo / "t.csv")
    assert results == {"a": 0, "b": 0, "c": 0, "d": 0}
    assert _locked_stages(repo) == {"a", "b", "c", "d"} and (repo / "d.txt").read_text() == "ac"
    rows = {r["stage"]: r for r in csv.DictReader(open(repo / "t.csv", newline=""))}
    assert set(rows) == {"a", "b", "c", "d"} and {r["queue"] for r in rows.values()} == {"0", "1"}
    # d was listed first but waited for a (3 s) and c
    assert rows["d"]["started"] >= rows["a"]["started"] and float(rows["a"]["seconds"]) >= 3.0


def test_a_failed_stage_skips_its_downstream_and_fails_the_run(tmp_path, capsys, monkeypatch, load_script):
    repo = _repo(tmp_path)
    (repo / "dvc.yaml").write_text(textwrap.dedent("""\
        stages:
          x:
            cmd: exit 3
            outs: [x.txt]
          y:
            cmd: python -c "open('y.txt','w').write(open('x.txt').read())"
            deps: [x.txt]
            outs: [y.txt]
          z:
            cmd: python -c "open('z.txt','w').write('z')"
            outs: [z.txt]
        """))
    monkeypatch.chdir(repo)
    code = load_script("dvc_queues").main(["--dvc", DVC, "--jobs", "2", "--stages", "x y z"])
    assert code == 1
    err = capsys.readouterr().err
    assert "stage x failed" in err and "not run, downstream of a failure: y" in err
    assert _locked_stages(repo) == {"z"}


def test_a_stage_whose_repro_cannot_start_fails_and_blocks_its_downstream(tmp_path, load_script):
    results = load_script("dvc_queues").run_workers(["x", "y", "z"], {"x": set(), "y": {"x"}, "z": set()}, 1,
                                  dvc=str(tmp_path / "no-dvc"), log_dir=tmp_path / "logs")
    assert results == {"x": 127, "y": None, "z": 127}
    assert "dvc_queues: x: No such file or directory" in (tmp_path / "logs" / "worker0.log").read_text()


def test_workers_need_stages_and_a_worker(capsys, load_script):
    for argv, message in ((["--stages", " "], "--stages names no stage"),
                          (["--stages", "a", "--jobs", "0"], "--jobs must be at least 1")):
        with pytest.raises(SystemExit) as e:
            load_script("dvc_queues").main(["--dvc", "/nonexistent", *argv])
        assert e.value.code == 2 and message in capsys.readouterr().err
