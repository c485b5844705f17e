"""`redbench compare` and `redbench check`."""

from __future__ import annotations

import click


@click.command("compare")
@click.pass_context
def compare(ctx: click.Context) -> None:
    """Score prediction files on matched frames and write metrics, leaderboards and plots."""
    raise click.ClickException("not yet implemented")


@click.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Compare a metrics.json against a committed reference; exit 1 on regression."""
    raise click.ClickException("not yet implemented")
