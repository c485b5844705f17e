"""The one way to make a method: `create(name, params, models_dir)` and `train(name, params, ...)`.

A method's module (named by the methods table) has a `Config` built from params `methods.<name>`, `load`,
and, when trainable, `train` with the one keyword signature every method shares:

    train(cfg, train_dirs, out_dir, *, seed, val_fraction, resume, progress) -> None

`<static>+smooth` rows are built here: their static method, loaded as usual, wrapped by the filter of params
`smoothing:` (redbench.baselines.smoothing, imported from the table like any method module).

`train` writes into `<out>.partial/` and swaps it onto `<out>` whole at the end (redbench._io.replace_dir):
a killed run leaves the previous complete model folder, and `resume=True` continues from the checkpoint in
`<out>.partial/` (or, when there is none, from a copy of `<out>`). For every method, `resume=True` also keeps
a finished `<out>` whose train_info.json says it was trained by this method version, with these params, seed
and training data (so a rerun of a pipeline stage after an unrelated code change costs nothing); a method
without a checkpoint otherwise trains from the start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redbench._io import named_os_error, replace_dir
from redbench.config import from_dict, param, params_hash, section
from redbench.methods.protocol import Method, Provenance, TrainInfo
from redbench.methods.table import MethodSpec, get_method

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


@dataclass(frozen=True)
class TrainParams:
    """params `train:`, shared by every trainable method."""

    datasets: tuple[str, ...] = ("300vw",)  # the train split of these datasets' shards
    # identities held out for validation (redbench.datasets.loaders.split_by_identity, split seed 0)
    val_fraction: float = param(0.2, min=0, max=1, exclusive_min=True, exclusive_max=True)
    seed: int = param(0, min=0)  # the training seed, recorded in train_info.json and results/metrics.json

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ValueError("datasets: name at least one dataset to train on")


def train_params(params: dict[str, Any]) -> TrainParams:
    return section(params, "train", TrainParams)


def method_config(spec: MethodSpec, params: dict[str, Any]) -> Any:
    """The method's Config from params `methods.<name>` (the row's defaults, then the dataclass's, for
    missing keys)."""
    module = spec.load_module()
    section = (params.get("methods") or {}).get(spec.name) or {}
    return from_dict(module.Config, {**dict(spec.defaults), **section}, where=f"methods.{spec.name}")


def _config_hash(cfg: Any) -> str:
    return params_hash(dataclasses.asdict(cfg))


def _smoothing(spec: MethodSpec, params: dict[str, Any]):
    """(filter module, its Config from params `smoothing:`) of a `+smooth` row."""
    module = spec.load_module()
    return module, from_dict(module.Config, params.get("smoothing"), where="smoothing")


def create(name: str, params: dict[str, Any], models_dir: PathLike = "models") -> Method:
    """The method `name` ready to predict: trained ones from `models_dir/<name>/`, pretrained ones as shipped."""
    spec = get_method(name)
    if spec.smooth_of is not None:
        module, s_cfg = _smoothing(spec, params)
        return module.wrap(create(spec.smooth_of, params, models_dir), s_cfg)
    cfg = method_config(spec, params)
    method = spec.load_module().load(Path(models_dir) / name if spec.trainable else None, cfg)
    if method.name != name:
        raise ValueError(f"methods.{name} in params loads a method named {method.name!r}")
    return method


def provenance(name: str, params: dict[str, Any], models_dir: PathLike = "models") -> Provenance:
    """Where method `name`'s weights came from (its train_info.json, or the pretrained source)."""
    spec = get_method(name)
    if spec.smooth_of is not None:
        module, s_cfg = _smoothing(spec, params)
        base = provenance(spec.smooth_of, params, models_dir)
        return Provenance(f"{base.method_version}+smooth{module.VERSION}",
                          params_hash({"base": base.config_hash, "smoothing": dataclasses.asdict(s_cfg)}),
                          base.train_data_hash, base.train_flops, base.seed)
    cfg_hash = _config_hash(method_config(spec, params))
    if not spec.trainable:
        module = spec.load_module()
        return Provenance(module.VERSION, cfg_hash, getattr(module, "TRAIN_DATA", spec.trained_on))
    model_dir = Path(models_dir) / name
    info = TrainInfo.read(model_dir)
    if info.config_hash != cfg_hash:
        log.warning("%s: trained with other methods.%s params than the params now have (retrain?)", model_dir, name)
    return Provenance(info.method_version, info.config_hash, info.train_data_hash, (info.cost or {}).get("flops"),
                      info.seed)


def staging_dir(out_dir: PathLike) -> Path:
    """Where `train` builds `out_dir` (kept after an interrupted run, for `resume`)."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".partial")


def train(name: str, params: dict[str, Any], out_dir: PathLike, shards_dir: PathLike = "data/shards", *,
          seed: int | None = None, resume: bool = False, progress: bool = False,
          config: Any = None) -> TrainInfo | None:
    """Train method `name` on the train split of params `train.datasets` under `shards_dir` into `out_dir`.

    `seed` overrides params `train.seed`; `config` overrides the Config from params `methods.<name>` (for
    ablations). Returns the train_info.json written (None on DDP ranks other than 0, which write nothing).
    """
    spec = get_method(name)
    if spec.smooth_of is not None:
        raise ValueError(f"{name} is {spec.smooth_of} plus smoothing: train {spec.smooth_of} instead")
    if not spec.trainable:
        raise ValueError(f"{name} is pretrained ({spec.trained_on}): nothing to train")
    tp = train_params(params)
    cfg = method_config(spec, params) if config is None else config
    seed = tp.seed if seed is None else seed
    out_dir = Path(out_dir)
    train_dirs = [Path(shards_dir) / d for d in tp.datasets]
    if resume:
        done = finished_model(out_dir, spec, cfg, seed, train_dirs)
        if done is not None:
            log.info("%s: already trained with these params, seed and data; kept", out_dir)
            return done
        if not spec.resumable:
            log.info("%s keeps no checkpoint: training from the start", name)
            resume = False
    go_on = resume and earlier_stop(out_dir, spec, cfg, seed, train_dirs)
    main = int(os.environ.get("RANK", "0")) == 0  # DDP (torchrun): rank 0 owns the output folder
    created = [p for p in (out_dir.parent, *out_dir.parent.parents) if not p.exists()]
    stage = _prepare_staging(out_dir, resume, go_on) if main else staging_dir(out_dir)
    try:
        spec.load_train_module().train(cfg, train_dirs, stage, seed=seed,
                                       val_fraction=tp.val_fraction, resume=resume, progress=progress)
    except BaseException as e:
        # a failed write (a full disk) of a method that keeps no checkpoint leaves nothing half-written; an
        # interrupted run keeps its staging folder, as it always has
        if main and not spec.resumable and isinstance(e, OSError):
            shutil.rmtree(stage, ignore_errors=True)
            for p in created:  # innermost first
                with contextlib.suppress(OSError):
                    p.rmdir()
        if isinstance(e, OSError) and e.filename is None:  # e.g. a full disk, from numpy or torch: name the model
            raise named_os_error(e, stage) from None
        raise
    if not main:
        return None
    info = TrainInfo.read(stage)
    aside = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(aside, ignore_errors=True)
    replace_dir(stage, out_dir, aside)
    shutil.rmtree(aside, ignore_errors=True)
    return info


def finished_model(out_dir: Path, spec: MethodSpec, cfg: Any, seed: int,
                   train_dirs: list[Path]) -> TrainInfo | None:
    """out_dir's TrainInfo when it holds a finished model of this method version, config, seed and data."""
    from redbench.methods.protocol import train_data_hash

    if not (out_dir / "train_info.json").is_file():
        return None
    info = TrainInfo.read(out_dir)
    same = (info.method_version == spec.load_module().VERSION and info.config_hash == _config_hash(cfg)
            and info.seed == seed and info.train_data_hash == train_data_hash(train_dirs))
    return info if same else None


def earlier_stop(out_dir: Path, spec: MethodSpec, cfg: Any, seed: int, train_dirs: list[Path]) -> bool:
    """Whether out_dir's finished model is this run stopped earlier, by a stop rule without the convergence
    condition that `cfg` adds (same method version, seed and data; the method's `continues` checks the rest
    against its checkpoint). Such a model is continued from its checkpoint, not trained again."""
    from redbench.methods.protocol import train_data_hash

    trainer = spec.load_train_module()
    if not (out_dir / "train_info.json").is_file() or not hasattr(trainer, "continues"):
        return False
    info = TrainInfo.read(out_dir)
    return (info.method_version == spec.load_module().VERSION and info.seed == seed
            and info.train_data_hash == train_data_hash(train_dirs) and trainer.continues(out_dir, cfg, seed))


def _prepare_staging(out_dir: Path, resume: bool, go_on: bool = False) -> Path:
    stage = staging_dir(out_dir)
    if resume and not stage.exists() and out_dir.exists():
        if go_on:
            log.info("%s stopped by a rule without the convergence condition: continuing from its checkpoint "
                     "(it stops at once where the condition holds)", out_dir)
            shutil.copytree(out_dir, stage)
        elif (out_dir / "train_info.json").is_file():
            # a finished model of other params, seed or data (finished_model said so): never continued from
            log.info("%s was trained with other params, seed or data: training again", out_dir)
        else:
            shutil.copytree(out_dir, stage)  # e.g. DVC's persisted checkpoint in the complete folder
    elif not resume and stage.exists():
        shutil.rmtree(stage)  # an interrupted run's leftovers: training starts again
    stage.mkdir(parents=True, exist_ok=True)
    return stage
