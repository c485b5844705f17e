"""`redbench inspect PATH`: print what a .pts file, a shard or a shard folder holds."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import user_errors


@click.command("inspect")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="For a shard folder: check every shard's sha256 against the manifest (reads every byte once).")
def inspect(path: Path, verify: bool) -> None:
    """Print a summary of PATH: a .pts file (its points), a prediction store, or an HDF5 shard / shard folder."""
    if path.suffix.lower() == ".pts":
        from redbench.datasets.pts import PtsError, read_pts

        with user_errors(PtsError):
            points = read_pts(path)
        click.echo(f"{path}: {len(points)} points (values as written; .pts is 1-based)")
        for i, (x, y) in enumerate(points):
            click.echo(f"{i:3d} {x:10.3f} {y:10.3f}")
        return
    if path.suffix.lower() in (".h5", ".hdf5") and _is_prediction_store(path):
        from redbench.benchmark.store import StoreError, read_predictions

        with user_errors(StoreError):
            click.echo(format_store(path, read_predictions(path)))
        return
    if path.is_dir() or path.suffix.lower() in (".h5", ".hdf5") or path.name == "manifest.json":
        from redbench.datasets.shard_summary import format_summary, summarize_path
        from redbench.datasets.shards import ShardError

        with user_errors(ShardError):
            click.echo(format_summary(summarize_path(path, verify=verify)))
        return
    raise click.ClickException(f"{path}: don't know how to inspect this (expected .pts, .h5 or a shard folder)")


def _is_prediction_store(path: Path) -> bool:
    """Whether `path` is an HDF5 file with the store's marks (a `schema` and a `method` attribute)."""
    import h5py

    from redbench._io import check_regular_file

    try:
        check_regular_file(path, what="HDF5 file")
        with h5py.File(path, "r") as f:
            return "schema" in f.attrs and "method" in f.attrs
    except (OSError, ValueError):
        return False  # the shard reader names what is wrong with it


def format_store(path: Path, pred) -> str:
    """A prediction store's metadata and coverage, a line each."""
    import numpy as np

    m = pred.meta
    clips = np.unique(pred.clip_ids)
    seed = "not recorded (a store written before seeds were)" if m.legacy else (
        "none (not trained here)" if m.train_seed is None else str(m.train_seed))
    timing = "-" if m.seconds_per_frame is None else f"{1e3 * m.seconds_per_frame:.2f} ms/frame"
    lines = [f"{path}: prediction store of method {m.method!r} on {m.dataset} ({m.data_source} data)",
             f"  {len(pred)} frames in {len(clips)} clips, box protocol {m.box_protocol}",
             f"  method version {m.method_version}, config hash {m.config_hash}, training seed {seed}",
             f"  training data {m.train_data_hash}, test manifest {m.test_manifest_hash}",
             f"  written by {m.written_by or 'unknown (legacy store)'}, {timing}"]
    if m.train_flops is not None:
        lines.append(f"  training FLOPs {m.train_flops:.3g}")
    return "\n".join(lines)
