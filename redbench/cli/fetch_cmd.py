"""`redbench fetch`."""

from __future__ import annotations

import click


@click.command("fetch")
@click.argument("dataset")
@click.pass_context
def fetch(ctx: click.Context, dataset: str) -> None:
    """Fetch DATASET's raw files into data/raw/DATASET (source from params.yaml)."""
    raise click.ClickException("not yet implemented")
