"""`redbench preview` and `redbench synthetic-stats`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from redbench.cli._common import user_errors
from redbench.datasets.table import dataset_names

DATASETS = dataset_names()


def _root(dataset: str, root: str | None) -> Path:
    return Path(root) if root else Path("data/raw") / dataset


@click.command("preview")
@click.argument("dataset", type=click.Choice(DATASETS))
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The raw dataset folder [default: data/raw/DATASET].")
@click.option("--out", "out_png", type=click.Path(dir_okay=False), default=None,
              help="The PNG to write [default: preview-DATASET.png].")
@click.option("-n", "--frames", "n", type=click.IntRange(1, 400), default=16, show_default=True,
              help="Frames on the sheet.")
@click.option("--cols", type=click.IntRange(1, 20), default=4, show_default=True)
@click.option("--zoom", type=click.FloatRange(0.25, 8.0), default=1.5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Which frames are picked.")
@click.pass_context
def preview(ctx: click.Context, dataset: str, root: str | None, out_png: str | None, n: int, cols: int,
            zoom: float, seed: int) -> None:
    """Write a contact sheet PNG of DATASET's frames with their landmarks drawn.

    Works on any raw dataset the readers understand (real or synthetic). Green: visible; red: covered by an
    occluder; orange: self-occluded (synthetic sidecar flags; real data shows all points green).
    """
    from redbench.datasets.preview import write_contact_sheet
    from redbench.datasets.raw import RawDataError
    from redbench.datasets.pts import PtsError

    out = Path(out_png) if out_png else Path(f"preview-{dataset}.png")
    with user_errors(RawDataError, PtsError, ValueError, OSError):
        count = write_contact_sheet(dataset, _root(dataset, root), out, n=n, cols=cols, zoom=zoom, seed=seed)
    click.echo(f"wrote {out} ({count} frames)")


@click.command("synthetic-stats")
@click.argument("dataset", type=click.Choice(DATASETS))
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The synthetic raw dataset folder [default: data/raw/DATASET].")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the statistics to this JSON file.")
@click.pass_context
def synthetic_stats(ctx: click.Context, dataset: str, root: str | None, json_path: str | None) -> None:
    """Print per-category statistics of a synthetic dataset: pose range, occluded points, motion.

    Motion = mean landmark displacement per frame / face size (sqrt of the landmark box area).
    """
    from redbench._io import write_json_atomic
    from redbench.datasets.pts import PtsError
    from redbench.datasets.raw import RawDataError
    from redbench.datasets.synthetic.stats import dataset_stats, format_table

    with user_errors(RawDataError, PtsError, ValueError):
        rows = dataset_stats(dataset, _root(dataset, root))
    click.echo(format_table(rows))
    if json_path:
        write_json_atomic(json_path, {"dataset": dataset, "data_source": "synthetic",
                                      "categories": [asdict(r) for r in rows]})
