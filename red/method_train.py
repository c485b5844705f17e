"""Training of the `red` and `red_static` methods (the methods protocol's `train` and `continues`), apart from
red/method.py so that predicting imports no training code."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Sequence

import torch

from redbench.config import params_hash
from redbench.red.method import VERSION, Config, method_name
from redbench.red.train import fit

log = logging.getLogger(__name__)


def train(cfg: Config, train_manifest_dir: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | Path,
          *, seed: int, val_fraction: float = 0.2, resume: bool = False, progress: bool = False) -> list[dict]:
    """Train on the `train` split of the given shard folder(s), validating on the identities that
    `val_fraction` holds out from it (params `train.val_fraction`, passed by redbench.methods.train)."""
    from redbench.methods.train_log import read_cost
    from redbench.methods.protocol import TrainInfo, as_manifest_dirs, train_data_hash
    from redbench.datasets.loaders import AugmentConfig, ClipDataset, split_by_identity
    from redbench.datasets.shards import load_manifest

    t0 = time.perf_counter()
    dirs = as_manifest_dirs(train_manifest_dir)
    paths = [p for d in dirs for p in load_manifest(d).paths("train")]
    if not paths:
        raise ValueError(f"no training shards in {[str(d) for d in dirs]}")
    size = cfg.model_config().input_size
    data_seed = seed if cfg.train.data_seed is None else cfg.train.data_seed  # windows and augmentation
    common = dict(clip_len=cfg.clip_len, input_size=size, box=cfg.box, box_scale=cfg.box_scale, seed=data_seed)
    everyone = ClipDataset(paths, train=False, **common)
    # split seed fixed: the same held-out identities whatever the training seed, so seeds compare on one set
    train_ids, val_ids = split_by_identity(everyone.identity_names, val_fraction, seed=0)
    train_set = ClipDataset(paths, train=True, augment=AugmentConfig() if cfg.augment else None,
                            identities=train_ids, **common)
    val_set = ClipDataset(paths, train=False, identities=val_ids, **common)
    log.info("RED training: %d clips of %d identities, validation: %d clips of %d identities (%s)",
             len(train_set), len(train_ids), len(val_set), len(val_ids), ", ".join(sorted(val_ids)))
    model_cfg = cfg.model_config(n_identities=len(everyone.identity_names))
    rows = fit(model_cfg, cfg.train, train_set, val_set, out_dir, seed, resume=resume, progress=progress)
    if int(os.environ.get("RANK", "0")) == 0:
        cost = read_cost(out_dir)  # what fit spent (metrics.json), for the equal-compute view
        n_frames = cost["frames_seen"] if cost else 0
        TrainInfo(method_name(cfg.variant), VERSION, params_hash(dataclasses.asdict(cfg)), train_data_hash(dirs),
                  n_frames, time.perf_counter() - t0, seed, cost).write(out_dir)
    return rows


def continues(out_dir: str | Path, cfg: Config, seed: int) -> bool:
    """Whether out_dir's checkpoint may go on as the run `cfg` asks for (red/train.py check_resumable: made with
    these params, or with a stop rule that lacks only the convergence condition)."""
    from redbench.red.train import CHECKPOINT, check_resumable, run_params

    path = Path(out_dir) / CHECKPOINT
    if not path.is_file():
        return False
    saved = torch.load(path, map_location="cpu", weights_only=True).get("params")
    if saved is None:
        return False
    now = run_params(cfg.model_config(n_identities=saved.get("model.n_identities", 1)), cfg.train, seed)
    try:
        check_resumable(path, saved, now)
    except ValueError:
        return False
    return True
