"""`redbench train METHOD`: train one method of the table through the factory (redbench.methods.factory)."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, torch_kernels, user_errors

MODELS_DIR = Path("models")
SHARDS_DIR = Path("data/shards")


@click.command("train")
@click.argument("method")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder [default: models/METHOD].")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=SHARDS_DIR,
              show_default=True, help="Folder of <dataset>/manifest.json shard sets.")
@click.option("--seed", type=int, default=None, help="Random seed [default: params train.seed].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a key of params methods.METHOD for this run (repeatable; dotted for nested keys, "
                   "values read as YAML), e.g. --set variant=no_cls --set train.epochs=20.")
@click.option("--resume", is_flag=True,
              help="Keep OUT when it was trained with these params, seed and data; else continue the "
                   "interrupted run in OUT.partial/ (methods that keep a checkpoint) or train from the start.")
@click.pass_context
def train(ctx: click.Context, method: str, out: Path | None, shards_dir: Path, seed: int | None,
          overrides: tuple[str, ...], resume: bool) -> None:
    """Train METHOD on the train split of params train.datasets.

    The model is built in OUT.partial/ and moved onto OUT only when complete, so an interrupted run leaves
    the previous model in place.
    """
    from redbench import methods
    from redbench.config import with_overrides

    params = params_of(ctx)
    out = out or MODELS_DIR / method
    with user_errors(ValueError, KeyError):
        if overrides:  # RED's ablations: `redbench train red --set variant=no_cls`
            section = with_overrides((params.get("methods") or {}).get(method), overrides, f"methods.{method}")
            params = {**params, "methods": {**(params.get("methods") or {}), method: section}}
        with torch_kernels(params, method):
            methods.train(method, params, out, shards_dir, seed=seed, resume=resume, progress=show_progress(ctx))
    click.echo(f"trained {method} -> {out}")
