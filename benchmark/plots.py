"""Plots of a comparison (seaborn on matplotlib's Agg backend; no pyplot state): CED curves per dataset and
subset, breakdown bars with their bootstrap intervals, stability bars. Also the CED table (results/ced.csv).

Every figure's title carries the normaliser, point set, box protocol and data source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from redbench.benchmark import metrics as M

log = logging.getLogger(__name__)

BREAKDOWN_PLOTS = ("subset", "yaw", "occlusion", "frames", "landmark_group", "point_visibility")


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
    ncols = min(2, len(subsets))
    nrows = -(-len(subsets) // ncols)
    fig = _figure(4.4 * ncols, 3.2 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(subsets):]:
        ax.set_visible(False)
    for ax, sub in zip(axes, subsets):
        sns.lineplot(data=d[d.subset == sub], x="threshold", y="ced", hue="method", ax=ax, legend=ax is axes[0])
        for t in scoring["thresholds"]:
            ax.axvline(t, color="grey", lw=0.6, ls=":")
        ax.set(title=f"{dataset} / {sub}", xlabel="NME", ylabel="fraction of frames", ylim=(0, 1.01))
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


def plot_breakdown(entry: dict[str, Any], dataset: str, kind: str, scoring: dict[str, Any], ci: float,
                   path: Path) -> Path | None:
    df = breakdown_frame(entry, kind)
    if df.empty:
        return None
    fig = _figure(max(5.0, 0.9 * df.group.nunique() * max(1, df.method.nunique()) / 2 + 2), 3.6)
    ax = fig.subplots()
    _bars(ax, df, "group", "method")
    ax.set(ylabel="NME (frame-pooled)", xlabel=kind.replace("_", " "),
           title=f"{dataset}: NME by {kind.replace('_', ' ')}, {ci:.0%} bootstrap intervals (clips; frame "
                 "blocks where too few clips)")
    fig.suptitle(_label(entry, scoring), fontsize=8)
    return _save(fig, path)


def plot_stability(entry: dict[str, Any], dataset: str, scoring: dict[str, Any], path: Path) -> Path | None:
    rows = []
    for m, rec in entry["methods"].items():
        for k in ("motion", "jitter"):
            v = rec["metrics"].get(k)
            if v and v["value"] is not None:
                rows.append({"metric": k, "method": m, "value": v["value"], "low": _bound(v["ci"][0]),
                             "high": _bound(v["ci"][1])})
    if not rows:
        return None  # still images: no stability
    fig = _figure(6.0, 3.6)
    ax = fig.subplots()
    _bars(ax, pd.DataFrame(rows), "metric", "method")
    gt_j = entry.get("ground_truth", {}).get("jitter", {}).get("value")
    if gt_j is not None:
        ax.axhline(gt_j, color="black", lw=0.8, ls="--")
        ax.annotate("GT jitter", (1.4, gt_j), fontsize=7, va="bottom", ha="right")
    ax.set(ylabel="normalised error", title=f"{dataset}: stability (lower is better)")
    fig.suptitle(_label(entry, scoring), fontsize=8)
    return _save(fig, path)


def write_plots(results: dict[str, Any], ced: pd.DataFrame, out_dir: Path) -> list[tuple[Path, str]]:
    """Every plot of a comparison under out_dir; returns (path, caption) pairs in display order."""
    import seaborn as sns

    scoring = results["config"]["scoring"]
    ci = results["config"]["bootstrap"]["ci"]
    out: list[tuple[Path, str]] = []
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):  # scoped, not global, styling
        for ds, entry in results["datasets"].items():
            out.append((plot_ced(ced, ds, entry, scoring, out_dir / f"ced_{ds}.png"), f"{ds}: CED curves"))
            p = plot_stability(entry, ds, scoring, out_dir / f"stability_{ds}.png")
            if p:
                out.append((p, f"{ds}: stability"))
            for kind in BREAKDOWN_PLOTS:
                p = plot_breakdown(entry, ds, kind, scoring, ci, out_dir / f"breakdown_{ds}_{kind}.png")
                if p:
                    out.append((p, f"{ds}: NME by {kind.replace('_', ' ')}"))
    log.info("wrote %d plots to %s", len(out), out_dir)
    return out
