"""Training curves of every learned method from its training log (`models/<method>/train_log.csv`, one row per
evaluation: redbench.methods.convergence.write_log): validation NME and training loss per epoch, and
validation NME against training FLOPs (the cost). The same logs feed `dvc plots` (docs/video.md); this is
the figure drawn offline (seaborn on matplotlib's Agg backend, no pyplot state).

Validation NME: inter-ocular, 68 points, gt boxes, the identities params train.val_fraction holds out. The
training loss is each method's own (RED's weighted sum, the CNNs' coordinate or heatmap loss, SDM's
regression residual; ERT logs none): its curve shows progress, its level is not comparable across methods.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

COLUMNS = ("epoch", "step", "train_loss", "val_nme_inter_ocular", "train_flops", "wall_s")


class TrainingLogError(ValueError):
    """A training log that cannot be read; the message names the file."""


def read_logs(models_dir: str | os.PathLike, methods: Sequence[str]) -> pd.DataFrame:
    """One row per logged evaluation of each method that has a log: method + COLUMNS (floats)."""
    frames = []
    for m in methods:
        path = Path(models_dir) / m / "train_log.csv"
        if not path.is_file():
            continue
        try:
            log = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise TrainingLogError(f"{path}: not a readable training log: {e}") from None
        missing = [c for c in COLUMNS if c not in log.columns]
        if missing:
            raise TrainingLogError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = log[list(COLUMNS)].apply(pd.to_numeric, errors="coerce")
        frames.append(rows.assign(method=m))
    if not frames:
        raise TrainingLogError(f"{models_dir}: no train_log.csv under any of {', '.join(methods)}")
    return pd.concat(frames, ignore_index=True)[["method", *COLUMNS]]


def plot_training_curves(logs: pd.DataFrame, path: str | os.PathLike, data_source: str = "synthetic") -> Path:
    """Three panels (validation NME per epoch, training loss per epoch, validation NME against training
    FLOPs), one colour a method; written atomically as PNG."""
    import seaborn as sns
    from matplotlib.figure import Figure

    from redbench._io import atomic_path

    methods = list(dict.fromkeys(logs.method))
    colours = dict(zip(methods, sns.color_palette(n_colors=len(methods))))
    fig = Figure(figsize=(13.5, 4.0), dpi=100, layout="constrained")
    nme_ax, loss_ax, cost_ax = fig.subplots(1, 3)
    for m in methods:
        d = logs[logs.method == m]
        style = dict(color=colours[m], marker="o", ms=3, lw=1.3, label=m)
        nme_ax.plot(d.epoch, d.val_nme_inter_ocular, **style)
        loss = d[d.train_loss > 0]
        if len(loss):
            loss_ax.plot(loss.epoch, loss.train_loss, **style)
        cost = d[(d.train_flops > 0) & d.val_nme_inter_ocular.map(math.isfinite)]
        if len(cost):
            cost_ax.plot(cost.train_flops, cost.val_nme_inter_ocular, **style)
    nme_ax.set(xlabel="epoch (SDM: cascade stage)", ylabel="validation NME (inter-ocular, 68 pts)",
               title="validation NME per epoch")
    loss_ax.set(xlabel="epoch", ylabel="training loss (each method's own)", yscale="log",
                title="training loss per epoch (levels not comparable)")
    cost_ax.set(xlabel="training FLOPs (networks counted, SDM/ERT estimated)", xscale="log",
                ylabel="validation NME (inter-ocular, 68 pts)", title="validation NME against cost")
    for ax in (nme_ax, loss_ax, cost_ax):
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3)
    nme_ax.legend(fontsize=7)
    fig.suptitle(f"Training curves ({data_source.upper() if data_source == 'synthetic' else data_source} data; "
                 "gt boxes; held-out validation people; one training seed)", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path
