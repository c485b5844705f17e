"""Heatmap regression with a small stacked hourglass (Newell, Yang & Deng, ECCV 2016), written here.

A stride-2 or -4 stem, then `stacks` hourglasses (recursive down/up-sampling with residual skips) each predicting
68 heatmaps at 1/stride of the input resolution, with intermediate supervision and the prediction fed back
into the next stack. Two trainings/decodings (`decoding`):
- "soft_argmax" (default): integral regression (Sun et al., "Integral Human Pose Regression", ECCV 2018): the
  expected position under the spatial softmax of each map, trained with an L1 loss on the coordinates. It is
  sub-pixel by construction and converges in the few epochs a CPU budget allows.
- "argmax_quadratic": MSE against Gaussians of std `sigma` heatmap px, decoded at the arg-max pixel refined by
  a parabola through the max and its two neighbours per axis (the classic stacked-hourglass recipe; it needs
  far longer training than our CPU budget to beat the integral variant).

Box adapter: the face box squared about its centre, x `box_scale`, resampled to `size` px RGB (the same in
training, with random flips / rotations / scalings / shifts, and in prediction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from redbench.baselines._torch_train import (TrainLoop, Validation, fit, from_unit, images_to_tensor, load_model,
                                             train_network)
from redbench.datasets.input_crop import square_crop, to_crop
from redbench.config import param
from redbench.methods.protocol import StaticMethod

VERSION = "1"
MODEL_FILE = "heatmap.pt"


@dataclass(frozen=True)
class Config:
    box_scale: float = param(1.25, min=0, max=10, exclusive_min=True)
    size: int = param(64, min=16, max=1024)  # input px; heatmaps are size / stride
    stride: int = param(4, choices=(2, 4))  # 2 or 4
    width: int = param(32, min=1, max=4096)
    stacks: int = param(1, min=1, max=8)
    depth: int = param(2, min=1, max=6)  # down-samplings per hourglass
    decoding: str = param("soft_argmax", choices=("soft_argmax", "argmax_quadratic"))  # soft_argmax | argmax_quadratic
    sigma: float = param(1.0, min=0, max=100, exclusive_min=True)  # target Gaussian std in heatmap px (argmax_quadratic)
    max_frames: int = param(2000, min=1)
    loop: TrainLoop = field(default_factory=lambda: TrainLoop(epochs=12, lr=3e-3))  # more epochs than the CNN

    def __post_init__(self) -> None:
        if self.size % (self.stride * 2**self.depth):
            raise ValueError(f"size: {self.size} px must be divisible by stride x 2^depth = "
                             f"{self.stride * 2**self.depth} (the hourglass halves it depth times)")


class Residual(nn.Module):
    """Pre-activation residual block (BN-ReLU-conv x 2)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Hourglass(nn.Module):
    def __init__(self, c: int, depth: int):
        super().__init__()
        self.skip, self.down = Residual(c), Residual(c)
        self.inner = Hourglass(c, depth - 1) if depth > 1 else Residual(c)
        self.up = Residual(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.skip(x) + F.interpolate(y, scale_factor=2, mode="nearest")


class StackedHourglass(nn.Module):
    def __init__(self, width: int, stacks: int, depth: int, stride: int):
        super().__init__()
        assert stride in (2, 4), stride
        self.stem = nn.Sequential(nn.Conv2d(3, width, 5, 2, 2, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  Residual(width), *([nn.MaxPool2d(2), Residual(width)] if stride == 4 else []))
        self.hourglasses = nn.ModuleList([nn.Sequential(Hourglass(width, depth), Residual(width))
                                          for _ in range(stacks)])
        self.heads = nn.ModuleList([nn.Conv2d(width, 68, 1) for _ in range(stacks)])
        self.remaps = nn.ModuleList([nn.Conv2d(68, width, 1) for _ in range(stacks - 1)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # (B,3,s,s) -> stacks x (B,68,s/stride,s/stride)
        f = self.stem(x)
        outs = []
        for i, (hg, head) in enumerate(zip(self.hourglasses, self.heads)):
            g = hg(f)
            outs.append(head(g))
            if i < len(self.remaps):
                f = f + g + self.remaps[i](outs[-1])
        return outs


def gaussian_targets(u: torch.Tensor, hm_size: int, sigma: float) -> torch.Tensor:
    """Heatmaps (B,68,h,h) with Gaussians at u (B,68,2) in [-1,1] coords (pixel centres as align_corners=False)."""
    centre = ((u + 1) * hm_size - 1) / 2  # (B, 68, 2) heatmap px
    r = torch.arange(hm_size, dtype=u.dtype)
    gx = torch.exp(-((r - centre[..., 0:1]) ** 2) / (2 * sigma**2))  # (B, 68, h)
    gy = torch.exp(-((r - centre[..., 1:2]) ** 2) / (2 * sigma**2))
    return gy[..., :, None] * gx[..., None, :]


def decode(heatmaps: torch.Tensor) -> torch.Tensor:
    """Sub-pixel peaks (B,68,2) in heatmap px (x, y): arg-max plus a per-axis parabola step, clamped to +-0.5."""
    b, l, h, w = heatmaps.shape
    flat = heatmaps.reshape(b, l, -1)
    idx = flat.argmax(-1)
    y, x = (idx // w).long(), (idx % w).long()
    hm = heatmaps.reshape(b * l, h, w)
    n = torch.arange(b * l)
    xf, yf = x.reshape(-1), y.reshape(-1)

    def at(dy: int, dx: int) -> torch.Tensor:
        return hm[n, (yf + dy).clamp(0, h - 1), (xf + dx).clamp(0, w - 1)]

    c = at(0, 0)
    step = []
    for lo, hi in ((at(0, -1), at(0, 1)), (at(-1, 0), at(1, 0))):
        curv = lo - 2 * c + hi
        s = torch.where(curv < 0, 0.5 * (lo - hi) / curv.clamp(max=-1e-12), torch.zeros_like(c))
        step.append(s.clamp(-0.5, 0.5))
    inner_x = (xf > 0) & (xf < w - 1)
    inner_y = (yf > 0) & (yf < h - 1)
    px = xf.to(heatmaps.dtype) + torch.where(inner_x, step[0], torch.zeros_like(c))
    py = yf.to(heatmaps.dtype) + torch.where(inner_y, step[1], torch.zeros_like(c))
    return torch.stack([px, py], -1).reshape(b, l, 2)


def soft_argmax(heatmaps: torch.Tensor) -> torch.Tensor:
    """Expected positions (B,68,2) in [-1,1] coords under the spatial softmax of maps (B,68,h,w)."""
    b, l, h, w = heatmaps.shape
    prob = heatmaps.reshape(b, l, -1).softmax(-1).reshape(b, l, h, w)
    xs = (2 * torch.arange(w, dtype=prob.dtype) + 1) / w - 1
    ys = (2 * torch.arange(h, dtype=prob.dtype) + 1) / h - 1
    return torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], -1)


def heatmap_to_unit(p: torch.Tensor, hm_size: int) -> torch.Tensor:
    return (2 * p + 1) / hm_size - 1


class Heatmap(StaticMethod):
    name = "heatmap"

    def __init__(self, cfg: Config, model: StackedHourglass):
        self.cfg, self.model = cfg, model.eval()

    def predict_inputs(self, images: np.ndarray) -> np.ndarray:
        """Landmarks (N,68,2) in input pixel coords of inputs (N,s,s,3) uint8."""
        with torch.inference_mode():
            hm = self.model(images_to_tensor(images))[-1].double()
        if self.cfg.decoding == "soft_argmax":
            u = soft_argmax(hm).numpy()
        else:
            u = heatmap_to_unit(decode(hm), hm.shape[-1]).numpy()
        return from_unit(u, self.cfg.size)

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        images, affines = square_crop(crops, boxes, self.cfg.box_scale, self.cfg.size)
        return to_crop(self.predict_inputs(images), affines)


def fit_model(images: np.ndarray, points: np.ndarray, cfg: Config, seed: int, progress: bool = False,
              val: Validation | None = None) -> tuple[StackedHourglass, list[dict]]:
    """Train on inputs (N,s,s,3) uint8, landmarks (N,68,2) in input pixel coords; returns the model (the best
    validation epoch's weights with `val`) and the training log."""
    assert cfg.size % (cfg.stride * 2**cfg.depth) == 0, "size must be divisible by stride * 2^depth"
    assert cfg.decoding in ("soft_argmax", "argmax_quadratic"), cfg.decoding
    torch.manual_seed(seed)
    model = StackedHourglass(cfg.width, cfg.stacks, cfg.depth, cfg.stride)
    hm_size = cfg.size // cfg.stride

    def loss_fn(outs: list[torch.Tensor], u: torch.Tensor) -> torch.Tensor:
        if cfg.decoding == "soft_argmax":
            return sum((soft_argmax(o) - u).abs().mean() for o in outs)
        target = gaussian_targets(u, hm_size, cfg.sigma)
        # x 100: Gaussians cover a few pixels of each map, so the plain mean is tiny (a common rescaling).
        return sum(F.mse_loss(o, target) for o in outs) * 100

    rows = fit(model, images, points, loss_fn, cfg.loop, seed, progress, val)
    return model, rows


def train(cfg: Config, train_manifest: Path | list[Path], out_dir: Path, *, seed: int, val_fraction: float = 0.2,
          resume: bool = False, progress: bool = False) -> None:
    train_network("heatmap", VERSION, MODEL_FILE, cfg, fit_model, lambda m, x: Heatmap(cfg, m).predict_inputs(x),
                  {"width": cfg.width, "stacks": cfg.stacks}, train_manifest, out_dir, seed, val_fraction, progress)


def load(model_dir: Path | None, cfg: Config) -> Heatmap:
    model = StackedHourglass(cfg.width, cfg.stacks, cfg.depth, cfg.stride)
    load_model(model, Path(model_dir or ".") / MODEL_FILE, "heatmap")
    return Heatmap(cfg, model)
