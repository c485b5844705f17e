"""`redbench preview` and `redbench synthetic-stats`."""

from __future__ import annotations

import click


@click.command("preview")
@click.pass_context
def preview(ctx: click.Context) -> None:
    """Write a contact sheet PNG of frames with their landmarks drawn."""
    raise click.ClickException("not yet implemented")


@click.command("synthetic-stats")
@click.pass_context
def synthetic_stats(ctx: click.Context) -> None:
    """Print per-category statistics of a synthetic dataset."""
    raise click.ClickException("not yet implemented")
