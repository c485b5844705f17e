"""`redbench preprocess`."""

from __future__ import annotations

import click


@click.command("preprocess")
@click.argument("dataset")
@click.pass_context
def preprocess(ctx: click.Context, dataset: str) -> None:
    """Preprocess DATASET's raw layout into HDF5 clip shards."""
    raise click.ClickException("not yet implemented")
