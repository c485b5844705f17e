"""`redbench methods`: list the methods the suite knows."""

from __future__ import annotations

import click


@click.command("methods")
def methods() -> None:
    """List methods: static or temporal, trainable or pretrained, and what each was trained on."""
    from redbench.methods import method_table

    for spec in method_table().values():
        kind = "temporal" if spec.temporal else "static"
        how = "trainable" if spec.trainable else "pretrained" if spec.smooth_of is None else "post-processing"
        click.echo(f"{spec.name:24s} {kind:8s} {how:15s} {spec.description}; trained on: {spec.trained_on}")
