"""`redbench train METHOD` and `redbench predict METHOD`."""

from __future__ import annotations

import click


@click.command("train")
@click.argument("method")
@click.pass_context
def train(ctx: click.Context, method: str) -> None:
    """Train METHOD on the training shards."""
    raise click.ClickException("not yet implemented")


@click.command("predict")
@click.argument("method")
@click.pass_context
def predict(ctx: click.Context, method: str) -> None:
    """Run METHOD on the test shards and write its prediction store."""
    raise click.ClickException("not yet implemented")
