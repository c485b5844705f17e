"""Direct coordinate regression with a small ResNet-style CNN (He et al. 2016 basic blocks, written here).

A stride-2 stem and four stages of two basic residual blocks (the first of stride 2) over a 64 px crop, global
average pooling, one linear layer to 136 values: the landmarks in [-1, 1] input coordinates (the output bias
starts at the mean training shape). L1 loss on the coordinates, as is usual for face coordinate regression.

Box adapter: the face box squared about its centre, x `box_scale`, resampled to `size` px RGB (the same in
training, with random flips / rotations / scalings / shifts, and in prediction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from redbench.baselines._torch_train import (TrainLoop, Validation, fit, from_unit, images_to_tensor, load_model,
                                             to_unit, train_network)
from redbench.datasets.input_crop import square_crop, to_crop
from redbench.config import param
from redbench.methods.protocol import StaticMethod

VERSION = "1"
MODEL_FILE = "cnn_regression.pt"


@dataclass(frozen=True)
class Config:
    box_scale: float = param(1.25, min=0, max=10, exclusive_min=True)
    size: int = param(64, min=16, max=1024)
    widths: tuple[int, ...] = param((32, 64, 128, 192), min=1, max=4096)  # channels of the four stages (after a stride-2 stem)
    max_frames: int = param(2000, min=1)
    loop: TrainLoop = field(default_factory=TrainLoop)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class CoordResNet(nn.Module):
    def __init__(self, widths: tuple[int, ...], mean_u: np.ndarray):
        super().__init__()
        c = widths[0] // 2
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())  # s/2
        blocks = []
        for w in widths:
            blocks += [BasicBlock(c, w, 2), BasicBlock(w, w, 1)]
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, 136)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.copy_(torch.as_tensor(mean_u, dtype=torch.float32).reshape(136))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B,3,s,s) -> (B,68,2) in [-1, 1]
        f = self.blocks(self.stem(x)).mean(dim=(2, 3))  # (B, C)
        return self.head(f).view(-1, 68, 2)


def l1_loss(pred: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return (pred - u).abs().mean()


class CNNRegression(StaticMethod):
    name = "cnn_regression"

    def __init__(self, cfg: Config, model: CoordResNet):
        self.cfg, self.model = cfg, model.eval()

    def predict_inputs(self, images: np.ndarray) -> np.ndarray:
        """Landmarks (N,68,2) in input pixel coords of inputs (N,s,s,3) uint8."""
        with torch.inference_mode():
            u = self.model(images_to_tensor(images)).double().numpy()
        return from_unit(u, self.cfg.size)

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        images, affines = square_crop(crops, boxes, self.cfg.box_scale, self.cfg.size)
        return to_crop(self.predict_inputs(images), affines)


def fit_model(images: np.ndarray, points: np.ndarray, cfg: Config, seed: int, progress: bool = False,
              val: Validation | None = None) -> tuple[CoordResNet, list[dict]]:
    """Train on inputs (N,s,s,3) uint8, landmarks (N,68,2) in input pixel coords; returns the model (the best
    validation epoch's weights with `val`) and the training log."""
    torch.manual_seed(seed)
    mean_u = to_unit(points, cfg.size).mean(axis=0)
    model = CoordResNet(cfg.widths, mean_u)
    rows = fit(model, images, points, l1_loss, cfg.loop, seed, progress, val)
    return model, rows


def train(cfg: Config, train_manifest: Path | list[Path], out_dir: Path, *, seed: int, val_fraction: float = 0.2,
          resume: bool = False, progress: bool = False) -> None:
    train_network("cnn_regression", VERSION, MODEL_FILE, cfg, fit_model, lambda m, x: CNNRegression(cfg, m).predict_inputs(x),
                  {"widths": list(cfg.widths)}, train_manifest, out_dir, seed, val_fraction, progress)


def load(model_dir: Path | None, cfg: Config) -> CNNRegression:
    model = CoordResNet(cfg.widths, np.zeros((68, 2)))
    load_model(model, Path(model_dir or ".") / MODEL_FILE, "cnn_regression")
    return CNNRegression(cfg, model)
