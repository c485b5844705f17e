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
    """Print a summary of PATH: a .pts file (its points) or an HDF5 shard / shard folder."""
    if path.suffix.lower() == ".pts":
        from redbench.datasets.pts import PtsError, read_pts

        with user_errors(PtsError):
            points = read_pts(path)
        click.echo(f"{path}: {len(points)} points (values as written; .pts is 1-based)")
        for i, (x, y) in enumerate(points):
            click.echo(f"{i:3d} {x:10.3f} {y:10.3f}")
        return
    if path.is_dir() or path.suffix.lower() in (".h5", ".hdf5") or path.name == "manifest.json":
        from redbench.datasets.shard_summary import format_summary, summarize_path
        from redbench.datasets.shards import ShardError

        with user_errors(ShardError):
            click.echo(format_summary(summarize_path(path, verify=verify)))
        return
    raise click.ClickException(f"{path}: don't know how to inspect this (expected .pts, .h5 or a shard folder)")
