"""`redbench curves`: the training curves of every learned method, drawn from models/<method>/train_log.csv."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, user_errors


@click.command("curves")
@click.option("-m", "--method", "methods", multiple=True,
              help="Method (repeatable) [default: every trainable method of `redbench methods` with a log].")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("models"),
              show_default=True, help="Folder of <method>/train_log.csv.")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/shards"),
              show_default=True, help="Where the training shards' manifests say which data source they hold.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("plots/training_curves.png"),
              show_default=True, help="The PNG to write.")
@click.pass_context
def curves(ctx: click.Context, methods: tuple[str, ...], models_dir: Path, shards_dir: Path, out: Path) -> None:
    """Validation NME and training loss per epoch, and validation NME against training FLOPs."""
    from redbench.benchmark.training_curves import TrainingLogError, plot_training_curves, read_logs
    from redbench.datasets.shards import ShardError, load_manifest
    from redbench.methods import method_table, train_params

    params = params_of(ctx)
    names = methods or tuple(n for n, s in method_table().items() if s.trainable)
    with user_errors(TrainingLogError, ShardError, ValueError):
        logs = read_logs(models_dir, names)
        sources = {load_manifest(shards_dir / d).data_source for d in train_params(params).datasets
                   if (shards_dir / d / "manifest.json").is_file()}
        plot_training_curves(logs, out, "/".join(sorted(sources)) or "unknown")
    click.echo(f"training curves of {', '.join(dict.fromkeys(logs.method))} -> {out}")
