"""`redbench pipeline write | check`: the generated pipeline files (redbench.pipeline)."""

from __future__ import annotations

import click


@click.group("pipeline")
def pipeline() -> None:
    """params.yaml (the config dataclasses' defaults), dvc.yaml and reference/dvc.yaml (from the tables, the
    params files and the code's imports): the generated files."""


@pipeline.command("write")
def write() -> None:
    """Rewrite the generated files that differ from what the generator makes."""
    from redbench.pipeline.write import write as run

    written = run()
    click.echo("rewrote " + ", ".join(map(str, written)) if written else "every generated file is up to date")


@pipeline.command("check")
def check() -> None:
    """Exit 1, naming them, when generated files differ from what the generator makes."""
    from redbench.pipeline.write import stale

    differ = stale()
    if differ:
        raise click.ClickException("stale (run `redbench pipeline write`): " + ", ".join(map(str, differ)))
    click.echo("every generated file is up to date")
