"""`redbench methods`: list the methods the suite knows."""

from __future__ import annotations

import click


@click.command("methods")
@click.option("--all", "show_all", is_flag=True, help="Also list methods whose code is not in this install.")
def methods(show_all: bool) -> None:
    """List methods: static or temporal, trainable or pretrained, and what each was trained on."""
    from redbench.methods import method_table

    for spec in method_table().values():
        if not (show_all or spec.available()):
            continue
        kind = "temporal" if spec.temporal else "static"
        how = "trainable" if spec.trainable else "pretrained" if spec.smooth_of is None else "post-processing"
        missing = "" if spec.available() else "  [not installed]"
        click.echo(f"{spec.name:24s} {kind:8s} {how:15s} {spec.description}; trained on: {spec.trained_on}{missing}")
