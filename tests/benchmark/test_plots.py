from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from redbench import metrics as M
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, score_dataset, summarise_dataset
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.leaderboard import to_html, to_markdown
from redbench.benchmark.plots import ced_table, plot_stability, write_plots
from redbench.benchmark.results import build_results
from redbench.benchmark.store import PredictionMeta, write_predictions


@pytest.fixture()
def stills(tmp_path):
    """A 300-W-like dataset: 6 still images (clips of one frame), two subsets, two methods."""
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 100, (6, 68, 2))
    g[:, 36], g[:, 45] = [20, 50], [80, 50]  # inter-ocular 60
    gt = make_ground_truth("300w", "synthetic", "h", [f"300w/img{i}" for i in range(6)], np.zeros(6), g,
                           subset=["common"] * 4 + ["challenging"] * 2)
    files = {}
    for name, px in (("a", 3.0), ("b", 6.0)):
        pred = g.copy()
        pred[..., 0] += px  # NME = px / 60 on every frame
        files[name] = tmp_path / name / "300w.h5"
        write_predictions(files[name], PredictionMeta(name, "1", "c", "t", "gt", "300w", "synthetic", "h", 0.0),
                          gt.clip_ids, gt.frame_indices, pred)
    cfg = CompareConfig(methods=("a", "b"), datasets=("300w",), reference_method="a",
                        bootstrap=BootstrapConfig(resamples=50))
    scores = score_dataset(gt, files, cfg)
    return cfg, scores, build_results({"300w": summarise_dataset(scores, cfg)}, cfg, "h")


def test_ced_table_matches_metrics_ced(stills):
    cfg, scores, _ = stills
    df = ced_table({"300w": scores}, 0.2, 41)
    assert set(df.subset) == {"all", "challenging", "common"}
    a = df[(df.method == "a") & (df.subset == "all")]
    np.testing.assert_allclose(a.ced, M.ced(np.full(6, 3 / 60), a.threshold))
    assert a.ced.iloc[0] == 0.0 and a.ced.iloc[-1] == 1.0
    assert a[a.threshold >= 0.05].ced.min() == 1.0 and a[a.threshold < 0.05].ced.max() == 0.0


def test_stills_have_no_stability_and_still_plot(stills, tmp_path):
    _, _, results = stills
    e = results["datasets"]["300w"]
    assert e["methods"]["a"]["metrics"]["nme"]["value"] == pytest.approx(0.05)
    assert e["methods"]["a"]["metrics"]["motion"] == {"value": None, "ci": [None, None]}
    assert e["methods"]["a"]["metrics"]["jitter"]["value"] is None
    assert e["n_clips"] == 6
    assert plot_stability(e, "300w", results["config"]["scoring"], tmp_path / "s.png") is None
    figs = write_plots(results, ced_table({"300w": stills[1]}, 0.2, 41), tmp_path / "plots")
    names = [Path(p).name for p, _ in figs]
    assert "ced_300w.png" in names and "stability_300w.png" not in names
    assert "breakdown_300w_subset.png" in names
    md = to_markdown(results)
    assert "| a | 5.00 |" in md  # NME 3/60 = 5.00 %, identical on every frame: no interval, not a zero-width one
    assert "n/a" in md  # stability of stills
    assert "data-v='Infinity'>n/a<" in to_html(results)  # sorts last, numerically, in the page


def test_figures_drawn_in_several_processes_are_byte_identical(stills, tmp_path):
    _, scores, results = stills
    ced = ced_table({"300w": scores}, 0.2, 41)
    one = write_plots(results, ced, tmp_path / "one", processes=1)
    three = write_plots(results, ced, tmp_path / "three", processes=3)
    assert [(p.name, c) for p, c in one] == [(p.name, c) for p, c in three]
    assert len(one) >= 4
    for (a, _), (b, _) in zip(one, three):
        assert a.read_bytes() == b.read_bytes(), a.name


def _write(path: Path) -> None:
    path.write_bytes(b"png")


def _fail_in_a_child(parent: int, path: Path) -> None:
    if os.getpid() != parent:
        raise RuntimeError("drawing failed")
    time.sleep(0.02)  # the parent is slow enough for the child to claim figures too
    _write(path)


def test_a_failed_figure_process_fails_the_drawing(tmp_path, capfd):
    from redbench.benchmark.plots import FigureDrawing, FigureJob, PlotError

    jobs = [FigureJob(tmp_path / f"f{i}.png", str(i), partial(_fail_in_a_child, os.getpid(), tmp_path / f"f{i}.png"))
            for i in range(40)]
    with pytest.raises(PlotError, match=r"figures-1 \(exit code 1\)"):
        with FigureDrawing(jobs, processes=2) as drawing:
            drawing.finish()
    assert "drawing failed" in capfd.readouterr().err  # the child's own traceback


def test_an_error_beside_the_drawing_stops_the_figure_processes(tmp_path):
    from redbench.benchmark.plots import FigureDrawing, FigureJob

    jobs = [FigureJob(tmp_path / f"f{i}.png", str(i), partial(time.sleep, 0.5)) for i in range(20)]
    drawing = FigureDrawing(jobs, processes=3)
    with pytest.raises(KeyError):
        with drawing:
            assert all(c.is_alive() for c in drawing._children) and len(drawing._children) == 2
            raise KeyError("the paired tests failed")
    assert not any(c.is_alive() for c in drawing._children)
    assert not list(tmp_path.iterdir())


def test_figures_without_fork_are_drawn_here(tmp_path, monkeypatch):
    from redbench.benchmark import plots

    monkeypatch.setattr(plots.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    jobs = [plots.FigureJob(tmp_path / f"f{i}.png", f"c{i}", partial(_write, tmp_path / f"f{i}.png"))
            for i in range(3)]
    with plots.FigureDrawing(jobs, processes=4) as drawing:
        assert drawing._children == []
        assert drawing.finish() == [(tmp_path / f"f{i}.png", f"c{i}") for i in range(3)]


_KILLED = """
import os, signal, sys, time
from functools import partial
from pathlib import Path
from redbench.benchmark.plots import FigureDrawing, FigureJob

out = Path(sys.argv[1])
jobs = [FigureJob(out / f"f{i}.png", str(i), partial(time.sleep, 0.3)) for i in range(100)]
with FigureDrawing(jobs, processes=3) as drawing:
    print(" ".join(str(c.pid) for c in drawing._children), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup runs: the children are orphaned
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # an exited orphan that no init has reaped yet is not running


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_figure_processes_stop_when_compare_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    # only the first line is read: the children hold the pipe open as long as they run
    run = subprocess.Popen([sys.executable, "-c", _KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in run.stdout.readline().split()]
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert len(pids) == 2
    deadline = time.monotonic() + 10  # each child stops after the figure it is drawing (0.3 s here), not 30 s later
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(p) for p in pids), "a figure process outlived its killed parent"
    run.stdout.close()
