"""Shared plumbing of the two CNN baselines: coordinate normalisation, augmentation, the training loop, saving.

Inputs are the box adapter's square crops (N, s, s, 3) uint8; landmarks are normalised to [-1, 1] with pixel
centres at u = (2x + 1) / s - 1 (the align_corners=False convention of torch's affine_grid / grid_sample).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from redbench.baselines._model_io import save_state
from redbench import metrics
from redbench.landmarks import mirror_points
from redbench.baselines.train_frames import VAL_FRAMES, load_train_frames, validation_split
from redbench.config import param, params_hash
from redbench.methods.convergence import STOP, Plateau, StopRule
from redbench.methods.cost import TrainCost, count_flops
from redbench.methods.train_log import write_log
from redbench.methods.protocol import TrainInfo, train_data_hash

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class TrainLoop:
    """The optimiser and augmentation settings both CNNs share (each method's Config holds one)."""

    epochs: int = param(8, min=1)
    batch_size: int = param(64, min=1)
    lr: float = param(2e-3, min=0, max=10, exclusive_min=True)
    weight_decay: float = param(1e-4, min=0)
    flip: bool = True  # random horizontal flips (with left/right relabelling)
    rotation: float = param(8.0, min=0, max=180)  # std in degrees of the random rotation
    scale: float = param(0.06, min=0, max=1)  # std of the random log scale
    translation: float = param(0.04, min=0, max=1)  # std of the random shift, fraction of the input side
    threads: int = param(2, min=0, max=256)
    # probability of random erasing per training image: a rectangle of 2-33 % of the input, aspect 0.3-3.3,
    # filled with uniform noise, as an occluder over landmarks that stay the targets (0: off)
    erasing: float = param(0.0, min=0, max=1)
    stop: StopRule = StopRule()  # the shared stopping rule (redbench/methods/convergence.py); `epochs` caps it


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


def erase(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Random erasing (Zhong et al., AAAI 2020) of a batch x (B,3,s,s) in [0, 1]: each image with probability
    p gets one rectangle of uniform noise (area 2-33 % of the image, aspect ratio 0.3-3.3, inside the image)."""
    b, _, h, w = x.shape
    hit = torch.rand(b, generator=gen) < p
    area = (0.02 + 0.31 * torch.rand(b, generator=gen)) * h * w
    aspect = torch.exp((2 * torch.rand(b, generator=gen) - 1) * math.log(1 / 0.3))
    eh = (area * aspect).sqrt().round().clamp(1, h).long()
    ew = (area / aspect).sqrt().round().clamp(1, w).long()
    y0 = (torch.rand(b, generator=gen) * (h - eh + 1)).long()
    x0 = (torch.rand(b, generator=gen) * (w - ew + 1)).long()
    ys, xs = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    inside = ((ys >= y0[:, None, None]) & (ys < (y0 + eh)[:, None, None])
              & (xs >= x0[:, None, None]) & (xs < (x0 + ew)[:, None, None]))
    mask = (hit[:, None, None] & inside)[:, None]  # (B,1,s,s)
    return torch.where(mask, torch.rand(x.shape, generator=gen), x)


@dataclass(frozen=True)
class Validation:
    """Held-out frames to validate on after each epoch: inputs (N,s,s,3) uint8, landmarks (N,68,2) input px,
    and predict(model, inputs) -> (N,68,2) input px (called with the model in eval mode)."""

    images: np.ndarray
    points: np.ndarray
    predict: Callable[[torch.nn.Module, np.ndarray], np.ndarray]

    def nme(self, model: torch.nn.Module) -> float:
        return float(metrics.nme(self.predict(model, self.images), self.points, "inter_ocular").mean())


def fit(model: torch.nn.Module, images: np.ndarray, points: np.ndarray, loss_fn: Callable, cfg: TrainLoop,
        seed: int, progress: bool = False, val: Validation | None = None) -> list[dict]:
    """Train `model` on inputs (N,s,s,3) uint8 with landmarks (N,68,2) in input pixel coords; returns one log
    row per epoch (train loss, validation NME, cost so far, the stopping rule's action).

    loss_fn(model_output, u) with u (B,68,2) the [-1,1] targets. AdamW; fixed budget (cfg.stop.patience 0):
    one-cycle schedule over cfg.epochs. With the stopping rule: one epoch of warm-up, then a constant lr that
    the rule decays at plateaus (redbench/methods/convergence.py). With `val`, the best epoch's weights are kept.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(seed)
    size = images.shape[1]
    x_all = torch.from_numpy(np.ascontiguousarray(images))  # uint8, converted per batch to save memory
    u_all = torch.from_numpy(to_unit(points, size).astype(np.float32))
    n = len(x_all)
    per_epoch = math.ceil(n / cfg.batch_size)
    steps = cfg.epochs * per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    plateau = Plateau(cfg.stop)
    if cfg.stop.patience == 0:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: min(1.0, (k + 1) / per_epoch) * plateau.lr_factor)
    rows, best_state, flops_per_step, t0, done = [], None, None, time.perf_counter(), 0
    model.train()
    bar = tqdm(total=steps, disable=not progress, desc="train", unit="batch")
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = x_all[idx].permute(0, 3, 1, 2).float().div_(255)
            x, u = augment(x, u_all[idx], cfg, gen)
            if cfg.erasing > 0:  # no draws when off: the generator's stream, and so the run, stay as they were
                x = erase(x, cfg.erasing, gen)

            def step():
                loss = loss_fn(model(x), u)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                return loss

            if flops_per_step is None:  # counted once on a real step (later batches have the same shape)
                held = []
                flops_per_step = count_flops(lambda: held.append(step()))
                loss = held[0]
            else:
                loss = step()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            done += 1
            bar.update(1)
        value, action = float("nan"), None
        if val is not None:
            model.eval()
            value = val.nme(model)
            model.train()
            action = plateau.update(value, done)
            if plateau.latest_is_best:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        rows.append({"epoch": epoch + 1, "step": done, "train_loss": total / n, "val_nme_inter_ocular": value,
                     "lr": opt.param_groups[0]["lr"], "frames_seen": (epoch + 1) * n,
                     "train_flops": done * flops_per_step,
                     "wall_s": round(time.perf_counter() - t0, 1), "stop": action})
        log.info("epoch %d: loss %.5f, val NME %.4f (%s)", epoch + 1, rows[-1]["train_loss"], value, action)
        if action == STOP:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return rows


def training_cost(rows: list[dict], cfg: TrainLoop) -> TrainCost:
    """The cost record of a `fit` run (its last row)."""
    last = rows[-1]
    stopped = "plateau" if last["stop"] == STOP else ("budget" if cfg.stop.patience == 0 else "cap")
    return TrainCost(steps=last["step"], frames_seen=last["frames_seen"], wall_s=last["wall_s"],
                     threads=cfg.threads, flops=float(last["train_flops"]), stopped=stopped,
                     flops_source="torch.utils.flop_counter: one training step (forward + backward) x steps")


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


def train_network(method: str, version: str, model_file: str, cfg: Any, fit_model: Callable[..., torch.nn.Module],
                  predict: Callable[[torch.nn.Module, np.ndarray], np.ndarray], extra: dict[str, Any],
                  train_manifest: Path | list[Path], out_dir: Path, seed: int, val_fraction: float,
                  progress: bool) -> None:
    """The training protocol of both CNNs: train on the training people, validate each epoch on the people
    `val_fraction` holds out (the ones RED validates on), keep the best epoch; write model_file, train_log.csv,
    metrics.json and train_info.json (with the cost). fit_model(images, points, cfg, seed, progress, val)
    builds and fits the network (cfg has box_scale, size, max_frames and loop)."""
    t0 = time.perf_counter()
    train_ids, val_ids = validation_split(train_manifest, val_fraction)
    frames = load_train_frames(train_manifest, cfg.max_frames, seed, cfg.box_scale, cfg.size, progress,
                               identities=train_ids if val_ids else None)
    val = None
    if val_ids:
        held = load_train_frames(train_manifest, VAL_FRAMES, 0, cfg.box_scale, cfg.size, identities=val_ids)
        val = Validation(held.images, held.points, predict)
    model, rows = fit_model(frames.images, frames.points, cfg, seed, progress, val)
    out_dir = Path(out_dir)
    save_model(model, out_dir / model_file, extra)
    cost = training_cost(rows, cfg.loop)
    write_log(out_dir, rows, cost)
    TrainInfo(method, version, params_hash(dataclasses.asdict(cfg)), train_data_hash(train_manifest),
              len(frames.images), time.perf_counter() - t0, seed, cost.as_dict()).write(out_dir)
