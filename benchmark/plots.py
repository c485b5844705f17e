"""Plots of a comparison (seaborn on matplotlib's Agg backend; no pyplot state): CED curves per dataset and
subset, breakdown bars with their bootstrap intervals, stability bars. Also the CED table (results/ced.csv).

Every figure's title carries the normaliser, point set, box protocol and data source.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from redbench import metrics as M

log = logging.getLogger(__name__)


class PlotError(RuntimeError):
    """A figure that could not be drawn."""


BREAKDOWN_PLOTS = ("subset", "yaw", "occlusion", "occlusion_age", "motion", "frames", "landmark_group",
                   "point_visibility")
AXIS_LABELS = {"occlusion_age": "frames since an occluder first covered a point",
               "motion": "GT face motion per frame (mean point displacement / inter-ocular distance)"}


def ced_table(scores: dict[str, Any], ced_max: float, ced_points: int) -> pd.DataFrame:
    """Long table (dataset, subset, method, threshold, ced) of CED curves on [0, ced_max]; subset "all" first."""
    x = np.linspace(0.0, ced_max, ced_points)
    rows = []
    for ds, sc in scores.items():
        subsets = ["all"] + (sorted(set(sc.gt.subset.tolist())) if len(set(sc.gt.subset.tolist())) > 1 else [])
        for sub in subsets:
            mask = np.ones(len(sc.gt), bool) if sub == "all" else sc.gt.subset == sub
            for m, v in sc.values.items():
                c = M.ced(v["nme"][mask], x)
                rows.append(pd.DataFrame({"dataset": ds, "subset": sub, "method": m, "threshold": x, "ced": c}))
    return pd.concat(rows, ignore_index=True)


def _label(entry: dict[str, Any], scoring: dict[str, Any]) -> str:
    src = entry["data_source"]
    src_txt = "SYNTHETIC data" if src == "synthetic" else "real data"
    return f"NME {scoring['norm']}, {scoring['points']} pts, box {entry['box_protocol']}, {src_txt}"


def _figure(width: float, height: float):
    # A bare Figure renders PNG through the Agg canvas and never touches pyplot's global figure list.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_ced(df: pd.DataFrame, dataset: str, entry: dict[str, Any], scoring: dict[str, Any], path: Path) -> Path:
    import seaborn as sns

    d = df[df.dataset == dataset]
    subsets = list(dict.fromkeys(d.subset))
    methods = list(dict.fromkeys(d.method))
    colours = sns.color_palette(n_colors=len(methods))  # the palette and order seaborn's hue would use
    ncols = min(2, len(subsets))
    nrows = -(-len(subsets) // ncols)
    fig = _figure(4.4 * ncols, 3.2 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(subsets):]:
        ax.set_visible(False)
    for ax, sub in zip(axes, subsets):
        # one line per method from the table's own rows: a curve needs no estimator (sns.lineplot's
        # grouping and aggregation took 3x the drawing time)
        for m, colour in zip(methods, colours):
            rows = d[(d.subset == sub) & (d.method == m)]
            ax.plot(rows.threshold.to_numpy(), rows.ced.to_numpy(), color=colour, label=m)
        for t in scoring["thresholds"]:
            ax.axvline(t, color="grey", lw=0.6, ls=":")
        ax.set(title=f"{dataset} / {sub}", xlabel="NME", ylabel="fraction of frames", ylim=(0, 1.01))
    axes[0].legend(title="method")
    fig.suptitle(f"CED - {_label(entry, scoring)}", fontsize=9)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    from redbench._io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def _bound(x: float | None) -> float:
    """An interval end for plotting: NaN where the interval is absent (no whisker)."""
    return float("nan") if x is None else float(x)


def breakdown_frame(entry: dict[str, Any], kind: str, metric: str = "nme") -> pd.DataFrame:
    """(group, method, value, low, high) of one breakdown in the order the breakdown lists its groups."""
    rows = []
    for label, g in entry["breakdowns"].get(kind, {}).get("groups", {}).items():
        for m, rec in g["methods"].items():
            v = rec.get(metric)
            if v and v["value"] is not None:
                rows.append({"group": label, "method": m, "value": v["value"], "low": _bound(v["ci"][0]),
                             "high": _bound(v["ci"][1]), "n_frames": g["n_frames"]})
    return pd.DataFrame(rows)


def _bars(ax, df: pd.DataFrame, x: str, hue: str) -> None:
    """Grouped bars with asymmetric interval whiskers (seaborn's palette; intervals are precomputed)."""
    import seaborn as sns

    xs, hues = list(dict.fromkeys(df[x])), list(dict.fromkeys(df[hue]))
    colours = sns.color_palette(n_colors=len(hues))
    width = 0.8 / len(hues)
    for j, h in enumerate(hues):
        d = df[df[hue] == h].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
        err = np.nan_to_num(np.stack([d.value - d.low, d.high - d.value])).clip(min=0)  # no interval: no whisker
        ax.bar(pos, d.value, width, yerr=err, color=colours[j], label=h, capsize=2,
               error_kw={"lw": 0.8})
    ax.set_xticks(np.arange(len(xs)), xs, rotation=30 if len(xs) > 5 else 0, ha="right" if len(xs) > 5 else "center")
    ax.legend(fontsize=7)


def plot_breakdown(entry: dict[str, Any], dataset: str, kind: str, scoring: dict[str, Any], ci: float | None,
                   path: Path) -> Path | None:
    """NME per breakdown group; ci: the intervals' level (None: no bootstrap, no intervals)."""
    df = breakdown_frame(entry, kind)
    if df.empty:
        return None
    fig = _figure(max(5.0, 0.9 * df.group.nunique() * max(1, df.method.nunique()) / 2 + 2), 3.6)
    ax = fig.subplots()
    _bars(ax, df, "group", "method")
    ax.set(ylabel="NME (frame-pooled)", xlabel=AXIS_LABELS.get(kind, kind.replace("_", " ")),
           title=f"{dataset}: NME by {kind.replace('_', ' ')}, " + (
               f"{ci:.0%} bootstrap intervals (clips; frame blocks where too few clips)" if ci is not None
               else "no intervals (no bootstrap)"))
    fig.suptitle(_label(entry, scoring), fontsize=8)
    return _save(fig, path)


def stability_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """(metric, method, value, low, high) of the motion and jitter errors; empty for still images."""
    rows = []
    for m, rec in entry["methods"].items():
        for k in ("motion", "jitter"):
            v = rec["metrics"].get(k)
            if v and v["value"] is not None:
                rows.append({"metric": k, "method": m, "value": v["value"], "low": _bound(v["ci"][0]),
                             "high": _bound(v["ci"][1])})
    return pd.DataFrame(rows)


def plot_stability(entry: dict[str, Any], dataset: str, scoring: dict[str, Any], path: Path) -> Path | None:
    df = stability_frame(entry)
    if df.empty:
        return None  # still images: no stability
    fig = _figure(6.0, 3.6)
    ax = fig.subplots()
    _bars(ax, df, "metric", "method")
    gt_j = entry.get("ground_truth", {}).get("jitter", {}).get("value")
    if gt_j is not None:
        ax.axhline(gt_j, color="black", lw=0.8, ls="--")
        ax.annotate("GT jitter", (1.4, gt_j), fontsize=7, va="bottom", ha="right")
    ax.set(ylabel="normalised error", title=f"{dataset}: stability (lower is better)")
    fig.suptitle(_label(entry, scoring), fontsize=8)
    return _save(fig, path)


@dataclass(frozen=True)
class FigureJob:
    """One figure of a comparison: where it goes, its caption, and the call that draws it there."""

    path: Path
    caption: str
    draw: Callable[[], Any]


def figure_jobs(results: dict[str, Any], ced: pd.DataFrame, out_dir: Path) -> list[FigureJob]:
    """Every figure of a comparison that has data, in display order (a dataset's CED curves first)."""
    scoring = results["config"]["scoring"]
    boot = results["config"]["bootstrap"]
    ci = boot["ci"] if boot.get("resamples", 1) > 0 else None
    jobs = []
    for ds, entry in results["datasets"].items():
        path = out_dir / f"ced_{ds}.png"
        jobs.append(FigureJob(path, f"{ds}: CED curves", partial(plot_ced, ced, ds, entry, scoring, path)))
        if not stability_frame(entry).empty:
            path = out_dir / f"stability_{ds}.png"
            jobs.append(FigureJob(path, f"{ds}: stability", partial(plot_stability, entry, ds, scoring, path)))
        for kind in BREAKDOWN_PLOTS:
            if not breakdown_frame(entry, kind).empty:
                path = out_dir / f"breakdown_{ds}_{kind}.png"
                jobs.append(FigureJob(path, f"{ds}: NME by {kind.replace('_', ' ')}",
                                      partial(plot_breakdown, entry, ds, kind, scoring, ci, path)))
    return jobs


def _draw_shared(jobs: list[FigureJob], next_job, parent: int | None) -> None:
    """Draw jobs in the order they are claimed from the shared counter next_job until none is left; a child
    (parent: the pid that forked it) stops when its parent is gone, whose staging folder goes with it."""
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):  # scoped, not global, styling
        while True:
            with next_job.get_lock():
                i = next_job.value
                next_job.value += 1
            if i >= len(jobs) or (parent is not None and os.getppid() != parent):
                return
            jobs[i].draw()


def _draw_child(jobs: list[FigureJob], next_job, parent: int) -> None:
    """A figure process: `_draw_shared`, an error ending it with one line on stderr (e.g. a full disk), which
    the parent reports by its exit code."""
    try:
        _draw_shared(jobs, next_job, parent)
    except Exception as e:  # noqa: BLE001 (reported, then the process exits 1)
        what = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename else f"{type(e).__name__}: {e}"
        print(f"figure process {os.getpid()}: {what}", file=sys.stderr)
        sys.exit(1)


class _Counter:
    """The next-figure counter of a single process, with multiprocessing.Value's interface."""

    def __init__(self) -> None:
        self.value = 0

    def get_lock(self) -> contextlib.nullcontext:
        return contextlib.nullcontext()


class FigureDrawing:
    """Draws figure jobs in `processes` processes: entering forks processes - 1 children that start drawing
    at once; `finish()` draws the rest here, each process claiming the next undrawn figure, and waits for the
    children. The caller can do other work in between (compare runs its paired tests there).

    matplotlib draws in Python under the GIL, so threads would not help; a fork shares the parent's data
    without pickling. Where fork is not available, everything is drawn by `finish()`.
    """

    def __init__(self, jobs: list[FigureJob], processes: int = 1):
        self.jobs = jobs
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        n_children = min(processes, len(jobs)) - 1 if can_fork else 0
        self._children = []
        self._next_job = _Counter()  # one process: no shared memory or semaphore needed
        if n_children > 0:
            ctx = multiprocessing.get_context("fork")
            self._next_job = ctx.Value("q", 0)
            self._children = [ctx.Process(target=_draw_child, args=(jobs, self._next_job, os.getpid()),
                                          daemon=True, name=f"figures-{k + 1}") for k in range(n_children)]

    def __enter__(self) -> "FigureDrawing":
        if self._children:
            import seaborn  # noqa: F401  (once, here: the children inherit it instead of importing it each)
        for child in self._children:
            child.start()
        return self

    def finish(self) -> list[tuple[Path, str]]:
        """Draw what no child has claimed, wait for the children; (path, caption) of every figure in order."""
        if not self.jobs:
            return []
        t0 = time.perf_counter()
        _draw_shared(self.jobs, self._next_job, None)
        for child in self._children:
            child.join()
        failed = [f"{c.name} (exit code {c.exitcode})" for c in self._children if c.exitcode != 0]
        if failed:
            raise PlotError(f"figure process(es) failed: {', '.join(failed)}; their error is printed above")
        missing = [str(j.path) for j in self.jobs if not j.path.exists()]
        if missing:
            raise PlotError(f"figures not written: {', '.join(missing)}")
        log.info("drew %d plots in %d process(es), the last %.2f s after the parent joined in", len(self.jobs),
                 len(self._children) + 1, time.perf_counter() - t0)
        return [(j.path, j.caption) for j in self.jobs]

    def __exit__(self, *exc) -> None:
        for child in self._children:  # after an error: stop them before the staging folder goes
            if child.is_alive():
                child.terminate()
            if child.pid is not None:
                child.join()


def write_plots(results: dict[str, Any], ced: pd.DataFrame, out_dir: Path,
                processes: int = 1) -> list[tuple[Path, str]]:
    """Every plot of a comparison under out_dir, drawn in `processes` processes; returns (path, caption)
    pairs in display order."""
    with FigureDrawing(figure_jobs(results, ced, out_dir), processes) as drawing:
        return drawing.finish()
