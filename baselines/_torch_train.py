"""Shared plumbing of the two CNN baselines: coordinate normalisation, augmentation, the training loop, saving.

Inputs are the box adapter's square crops (N, s, s, 3) uint8; landmarks are normalised to [-1, 1] with pixel
centres at u = (2x + 1) / s - 1 (the align_corners=False convention of torch's affine_grid / grid_sample).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from redbench.baselines._model_io import save_state
from redbench.landmarks import mirror_points

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainLoop:
    """The optimiser and augmentation settings both CNNs share (each method's Config holds one)."""

    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    flip: bool = True  # random horizontal flips (with left/right relabelling)
    rotation: float = 8.0  # std in degrees of the random rotation
    scale: float = 0.06  # std of the random log scale
    translation: float = 0.04  # std of the random shift, fraction of the input side
    threads: int = 2


def to_unit(points: np.ndarray | torch.Tensor, size: int):
    """Pixel coords (..., 2) of a size x size input -> [-1, 1] coords."""
    return (2 * points + 1) / size - 1


def from_unit(u: np.ndarray | torch.Tensor, size: int):
    return ((u + 1) * size - 1) / 2


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, s, s, 3) uint8 -> (N, 3, s, s) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def augment(x: torch.Tensor, u: torch.Tensor, cfg: TrainLoop, gen: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random flip + similarity of a batch: x (B,3,s,s) float, u (B,68,2) in [-1,1] -> both transformed."""
    b = len(x)
    if cfg.flip:
        flip = torch.rand(b, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        u = torch.where(flip[:, None, None], mirror_points(u, 0.0), u)
    s = torch.exp(torch.randn(b, generator=gen) * cfg.scale)
    a = torch.deg2rad(torch.randn(b, generator=gen) * cfg.rotation)
    t = torch.randn(b, 2, generator=gen) * cfg.translation * 2  # [-1, 1] spans the side twice
    rot = torch.stack([torch.stack([a.cos(), -a.sin()], -1), torch.stack([a.sin(), a.cos()], -1)], -2)  # (B,2,2)
    fwd = s[:, None, None] * rot  # out = fwd @ in + t
    inv = rot.transpose(1, 2) / s[:, None, None]  # in = inv @ (out - t)
    theta = torch.cat([inv, (-inv @ t[..., None])], dim=2)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    u = torch.einsum("bij,blj->bli", fwd, u) + t[:, None, :]
    return x, u


def fit(model: torch.nn.Module, images: np.ndarray, points: np.ndarray, loss_fn: Callable, cfg: TrainLoop,
        seed: int, progress: bool = False) -> list[float]:
    """Train `model` on inputs (N,s,s,3) uint8 with landmarks (N,68,2) in input pixel coords; returns epoch losses.

    loss_fn(model_output, u) with u (B,68,2) the [-1,1] targets. AdamW with a cosine schedule.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(seed)
    size = images.shape[1]
    x_all = torch.from_numpy(np.ascontiguousarray(images))  # uint8, converted per batch to save memory
    u_all = torch.from_numpy(to_unit(points, size).astype(np.float32))
    n = len(x_all)
    steps = cfg.epochs * math.ceil(n / cfg.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    losses = []
    model.train()
    bar = tqdm(total=steps, disable=not progress, desc="train", unit="batch")
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = x_all[idx].permute(0, 3, 1, 2).float().div_(255)
            x, u = augment(x, u_all[idx], cfg, gen)
            loss = loss_fn(model(x), u)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            bar.update(1)
        losses.append(total / n)
        log.info("epoch %d: loss %.5f", epoch, losses[-1])
    bar.close()
    model.eval()
    return losses


def save_model(model: torch.nn.Module, path: Path, extra: dict[str, Any]) -> None:
    """Weights (state dict) plus a JSON-serialisable dict, atomically; read back with weights_only=True."""
    state = {"model": model.state_dict(), "extra": json.dumps(extra)}
    save_state(path, state)


def load_model(model: torch.nn.Module, path: Path, method: str) -> dict[str, Any]:
    """Load weights saved by `save_model` into `model` (eval mode); returns the extra dict."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no model weights (run `redbench train {method}`)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, OSError) as e:
        raise ValueError(f"{path}: weights do not fit methods.{method} in params (retrain?): {e}") from None
    model.eval()
    return json.loads(state["extra"])
