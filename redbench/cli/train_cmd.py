"""`redbench train METHOD` and `redbench predict METHOD DATASET`: generic dispatch through the method table.

Each method module (redbench.methods) has a `Config` dataclass built from params `methods.<name>`, `train(cfg,
train_manifest_dir(s), out_dir, seed, progress=...)` when trainable, and `load(model_dir, cfg)`. A
`<static>+smooth` row loads its static method and wraps it with params `smoothing:`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import click

from redbench.cli._common import params_of, show_progress, user_errors

MODELS_DIR = Path("models")
SHARDS_DIR = Path("data/shards")
PREDICTIONS_DIR = Path("predictions")


def _spec(name: str):
    from redbench.methods import get_method

    try:
        spec = get_method(name)
    except KeyError as e:
        raise click.ClickException(str(e.args[0])) from None
    if not spec.available():
        raise click.ClickException(f"method {name!r}: its module {spec.module} is not in this install")
    return spec


def _config(spec, params: dict[str, Any]):
    """(module, Config instance, params section) of a method."""
    from redbench.config import from_dict

    module = spec.load_module()
    section = (params.get("methods") or {}).get(spec.name)
    return module, from_dict(module.Config, section, where=f"methods.{spec.name}"), section


def _train_manifests(params: dict[str, Any], shards_dir: Path) -> Path | list[Path]:
    datasets = (params.get("train") or {}).get("datasets") or ["300vw"]
    dirs = [shards_dir / d for d in datasets]
    return dirs[0] if len(dirs) == 1 else dirs


@click.command("train")
@click.argument("method")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model folder [default: models/METHOD].")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=SHARDS_DIR,
              show_default=True, help="Folder of <dataset>/manifest.json shard sets.")
@click.option("--seed", type=int, default=None, help="Random seed [default: params train.seed, else 0].")
@click.option("--resume", is_flag=True, help="Continue from the model folder's checkpoint (methods that keep one).")
@click.pass_context
def train(ctx: click.Context, method: str, out: Path | None, shards_dir: Path, seed: int | None,
          resume: bool) -> None:
    """Train METHOD on the train split of params train.datasets (default 300vw)."""
    spec = _spec(method)
    if spec.smooth_of is not None:
        raise click.ClickException(f"{method} is {spec.smooth_of} plus smoothing: train {spec.smooth_of} instead")
    if not spec.trainable:
        raise click.ClickException(f"{method} is pretrained ({spec.trained_on}): nothing to train")
    params = params_of(ctx)
    seed = int((params.get("train") or {}).get("seed", 0)) if seed is None else seed
    out = out or MODELS_DIR / method
    with user_errors(ValueError):
        module, cfg, _ = _config(spec, params)
        out.mkdir(parents=True, exist_ok=True)
        accepts = inspect.signature(module.train).parameters
        kwargs = {"resume": True} if resume else {}
        if resume and "resume" not in accepts:
            raise click.ClickException(f"{method} keeps no checkpoint: --resume is not supported")
        if "val_fraction" in accepts:  # methods that validate during training hold out params train.val_fraction
            kwargs["val_fraction"] = float((params.get("train") or {}).get("val_fraction", 0.2))
        module.train(cfg, _train_manifests(params, shards_dir), out, seed, progress=show_progress(ctx), **kwargs)
    click.echo(f"trained {method} -> {out}")


def _load(spec, params: dict[str, Any], models_dir: Path):
    """(method object, Provenance) of a static or temporal method from its model folder."""
    import dataclasses
    import logging

    from redbench.baselines.protocol import TrainInfo
    from redbench.benchmark.predict import Provenance
    from redbench.config import params_hash

    module, cfg, _ = _config(spec, params)
    cfg_hash = params_hash(dataclasses.asdict(cfg))
    if spec.trainable:
        model_dir = models_dir / spec.name
        info = TrainInfo.read(model_dir)
        if info.config_hash != cfg_hash:
            logging.getLogger(__name__).warning(
                "%s: trained with other methods.%s params than params.yaml has now (retrain?)", model_dir, spec.name)
        prov = Provenance(info.method_version, info.config_hash, info.train_data_hash)
    else:
        model_dir = None
        prov = Provenance(module.VERSION, cfg_hash, getattr(module, "TRAIN_DATA", spec.trained_on))
    return module.load(model_dir, cfg), prov


@click.command("predict")
@click.argument("method")
@click.argument("dataset")
@click.option("--box", "box_protocol", type=click.Choice(["gt", "gt_jitter", "detector", "tracking"]), default=None,
              help="Box protocol [default: params predict.box_protocol].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prediction file [default: predictions/METHOD/DATASET.h5].")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=MODELS_DIR,
              show_default=True, help="Folder of <method>/ model folders.")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=SHARDS_DIR,
              show_default=True, help="Folder of <dataset>/manifest.json shard sets.")
@click.pass_context
def predict(ctx: click.Context, method: str, dataset: str, box_protocol: str | None, out: Path | None,
            models_dir: Path, shards_dir: Path) -> None:
    """Run METHOD on every test frame of DATASET's shards and write its prediction store."""
    import dataclasses

    from redbench.benchmark.predict import PredictConfig, Provenance, run_method
    from redbench.config import from_dict, params_hash

    spec = _spec(method)
    params = params_of(ctx)
    out = out or PREDICTIONS_DIR / method / f"{dataset}.h5"
    with user_errors(ValueError):
        cfg = from_dict(PredictConfig, params.get("predict"), where="predict")
        box_protocol = box_protocol or cfg.box_protocol
        if spec.smooth_of is None:
            runner, prov = _load(spec, params, models_dir)
        else:
            from redbench.baselines import smoothing

            base, base_prov = _load(_spec(spec.smooth_of), params, models_dir)
            s_cfg = from_dict(smoothing.Config, params.get("smoothing"), where="smoothing")
            runner = smoothing.wrap(base, s_cfg)
            prov = Provenance(f"{base_prov.method_version}+smooth{smoothing.VERSION}",
                              params_hash({"base": base_prov.config_hash, "smoothing": dataclasses.asdict(s_cfg)}),
                              base_prov.train_data_hash)
        if runner.name != method:
            raise click.ClickException(f"methods.{method} in params loads a method named {runner.name!r}")
        meta = run_method(runner, shards_dir / dataset, box_protocol, out, prov, progress=show_progress(ctx))
    click.echo(f"{method} on {dataset} ({box_protocol} boxes, {meta.data_source} data): "
               f"{1e3 * meta.seconds_per_frame:.2f} ms/frame -> {out}")
