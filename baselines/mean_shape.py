"""The mean-shape baseline: the mean training shape, normalised to the face box, placed in each frame's box.

It ignores the image, so it is the floor every real method must beat. Box adapter: the shape is stored in box
units, u = (x - x0) / (x1 - x0), v = (y - y0) / (y1 - y0), and mapped back into each frame's box as given.
The mean is symmetrised over horizontal flips (each shape and its mirror image), as the faces are.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redbench.baselines.train_frames import iter_train_clips
from redbench.baselines._model_io import load_arrays, save_arrays
from redbench.methods.protocol import StaticMethod, TrainInfo, train_data_hash
from redbench.config import param, params_hash
from redbench.landmarks import mirror_points

log = logging.getLogger(__name__)

VERSION = "1"
MODEL_FILE = "mean_shape.npz"


@dataclass(frozen=True)
class Config:
    max_frames: int = param(20000, min=1)  # training frames used (every k-th frame of each clip)
    symmetric: bool = True  # average each shape with its mirror image


def normalise_to_box(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """points (N,68,2), boxes (N,4) -> (N,68,2) in box units (0..1 across the box)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    lo, size = boxes[:, None, :2], boxes[:, None, 2:] - boxes[:, None, :2]
    return (np.asarray(points, dtype=np.float64) - lo) / size


def place_in_box(shape: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A shape (68,2) in box units into each box (N,4) -> (N,68,2)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return boxes[:, None, :2] + shape[None] * (boxes[:, None, 2:] - boxes[:, None, :2])


def mirror_in_box(shapes: np.ndarray) -> np.ndarray:
    """Mirror shapes (..., 68, 2) in box units: u -> 1 - u with left/right labels swapped."""
    return mirror_points(shapes, 1.0)


def fit(points: np.ndarray, boxes: np.ndarray, symmetric: bool = True) -> np.ndarray:
    """The mean shape (68, 2) in box units of training landmarks (N,68,2) with their boxes (N,4)."""
    shapes = normalise_to_box(points, boxes)
    mean = shapes.mean(axis=0)
    return (mean + mirror_in_box(mean)) / 2 if symmetric else mean


class MeanShape(StaticMethod):
    name = "mean_shape"

    def __init__(self, shape: np.ndarray):
        assert shape.shape == (68, 2), shape.shape
        self.shape = shape

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return place_in_box(self.shape, boxes)


def train(cfg: Config, train_manifest: Path | list[Path], out_dir: Path, *, seed: int, val_fraction: float = 0.2,
          resume: bool = False, progress: bool = False) -> None:
    t0 = time.perf_counter()
    points, boxes = [], []
    for clip in iter_train_clips(train_manifest, cfg.max_frames, seed, progress, fields=("landmarks", "boxes/gt")):
        points.append(clip["landmarks"])
        boxes.append(clip["boxes/gt"])
    shape = fit(np.concatenate(points), np.concatenate(boxes), cfg.symmetric)
    out_dir = Path(out_dir)
    save_arrays(out_dir / MODEL_FILE, shape=shape)
    TrainInfo("mean_shape", VERSION, params_hash(dataclasses.asdict(cfg)), train_data_hash(train_manifest),
              int(sum(len(p) for p in points)), time.perf_counter() - t0, seed).write(out_dir)


def load(model_dir: Path | None, cfg: Config) -> MeanShape:
    path = Path(model_dir or ".") / MODEL_FILE
    shape = load_arrays(path, ("shape",), "mean_shape")["shape"]
    if shape.shape != (68, 2) or not np.isfinite(shape).all():
        raise ValueError(f"{path}: expected a finite (68, 2) shape, got {shape.shape}")
    return MeanShape(shape)
