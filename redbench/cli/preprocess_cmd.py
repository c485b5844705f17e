"""`redbench preprocess DATASET`: raw layout -> HDF5 clip shards + manifest."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, user_errors
from redbench.datasets.table import dataset_names


@click.command("preprocess")
@click.argument("dataset", type=click.Choice(dataset_names()))
@click.option("--raw-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Raw layout to read [default: data/raw/DATASET].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Shard folder to write [default: data/shards/DATASET].")
@click.pass_context
def preprocess(ctx: click.Context, dataset: str, raw_dir: Path | None, out_dir: Path | None) -> None:
    """Preprocess DATASET's raw layout into HDF5 clip shards (params section `preprocess`)."""
    from redbench._io import ForeignFilesError
    from redbench.config import section
    from redbench.datasets.preprocess import PreprocessConfig, PreprocessError, preprocess as run
    from redbench.datasets.raw import RawDataError
    from redbench.datasets.shards import ShardError

    raw_dir = raw_dir or Path("data/raw") / dataset
    out_dir = out_dir or Path("data/shards") / dataset
    with user_errors(PreprocessError, RawDataError, ShardError, ForeignFilesError):
        cfg = section(params_of(ctx), "preprocess", PreprocessConfig)
        summary = run(dataset, raw_dir, out_dir, cfg, progress=show_progress(ctx))
    found, searched = summary["detector_found_rate"], summary["detector_searched"]
    detector = (f"detector found a face in {100 * found:.1f}% of the {searched} frames it searched "
                f"(splits {', '.join(cfg.boxes.detector_splits)})" if searched else "no detector boxes")
    click.echo(f"{out_dir}: {summary['frames']} frames of {dataset} ({summary['data_source']} data); {detector}")
    err = summary["pose_pnp_yaw_abs_error_deg"]
    if err["n"]:
        click.echo(f"PnP yaw |error| vs the source's pose over {err['n']} frames: median {err['median']:.2f} deg, "
                   f"p90 {err['p90']:.2f} deg")
