"""What a method is: the clip protocol every method follows, the static-method base, and its training record.

A method takes the context crops of one clip in order plus their face boxes and returns 68 landmarks per frame
in context-crop coordinates. Static methods see one frame at a time; temporal methods see the clip in order and
keep state only within the clip (docs/interfaces.md, "Methods").
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from redbench._io import read_json, sha256_bytes, write_json_atomic
from redbench.datasets.shards import BOX_NAMES
from redbench.methods.tracking import track, track_batch

# params `predict.box_protocol`: the shards' boxes ("gt", "gt_jitter", "detector") give every frame its box;
# "tracking" gives only frame 0's gt box, later boxes come from the method's own predictions (tracking.py).
BOX_PROTOCOLS = (*BOX_NAMES, "tracking")
TRAIN_INFO = "train_info.json"
# A resumable method's files in its model folder (MethodSpec.resumable): its weights, and the checkpoint that
# `redbench train --resume` continues from
WEIGHTS, CHECKPOINT = "model.pt", "checkpoint.pt"

PathLike = str | os.PathLike


@runtime_checkable
class Method(Protocol):
    name: str
    temporal: bool

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool, *,
                     gt_box_scale: float = 1.0) -> np.ndarray:
        """crops (T,S,S,3) uint8, boxes (T,4) crop coords -> (T,68,2) float64 crop coords. With `tracking`,
        each box after the first is built from the previous output by the shards' gt box rule (their
        preprocess.boxes.gt_box_scale, redbench.methods.tracking)."""
        ...


# Optional: a method may also offer `track_clips(clips, first_boxes, *, gt_box_scale) -> list of (T_k, 68, 2)`,
# the tracking protocol over several clips at once (frame t of every clip in one batch); the predict driver
# uses it under the tracking protocol, and each clip's output must be what predict_clip(tracking=True) gives.


class StaticMethod:
    """Base of static methods: subclasses implement `predict(crops, boxes)` on a batch of independent frames.

    `predict_clip` batches frames for the gt/jitter/detector protocols and runs frame by frame with
    `tracking=True`, where each box after the first comes from the previous prediction.
    """

    name: str = "static"
    temporal: bool = False
    batch_size: int = 64

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """crops (N,S,S,3) uint8, boxes (N,4) -> (N,68,2) float64, all in context-crop coords."""
        raise NotImplementedError

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool, *,
                     gt_box_scale: float = 1.0) -> np.ndarray:
        crops = np.asarray(crops)
        boxes = np.asarray(boxes, dtype=np.float64)
        assert crops.ndim == 4 and crops.shape[-1] == 3, crops.shape
        assert boxes.shape == (len(crops), 4), boxes.shape
        if not tracking:
            out = [self.predict(crops[i:i + self.batch_size], boxes[i:i + self.batch_size])
                   for i in range(0, len(crops), self.batch_size)]
            return np.concatenate(out).astype(np.float64)  # (T, 68, 2)
        return track(lambda t, box: self.predict(crops[t:t + 1], box[None])[0], boxes, tracking=True,
                     gt_box_scale=gt_box_scale)

    def track_clips(self, clips: Sequence[np.ndarray], first_boxes: np.ndarray, *,
                    gt_box_scale: float = 1.0) -> list[np.ndarray]:
        """The tracking protocol over several clips (crops (T_k,S,S,3) each, first boxes (K,4)): frame t of
        every clip in one batch (`track_batch`); the frames are independent, so each output is what
        `predict_clip(..., tracking=True)` gives for its clip alone."""
        def step(t: int, active: np.ndarray, boxes: np.ndarray) -> np.ndarray:
            return self.predict_clip(np.stack([clips[k][t] for k in active]), boxes, False)

        return track_batch(step, first_boxes, [len(c) for c in clips], gt_box_scale)


@dataclass(frozen=True)
class Provenance:
    """Where a method's weights came from: what the predict driver cannot learn from the method or the shards."""

    method_version: str
    config_hash: str
    train_data_hash: str
    train_flops: float | None = None  # from TrainInfo.cost; None for pretrained methods
    seed: int | None = None  # TrainInfo.seed: what the model was trained with; None for pretrained methods


@dataclass(frozen=True)
class TrainInfo:
    """What a trained model saw, written beside its weights as train_info.json (read when it is loaded)."""

    method: str
    method_version: str
    config_hash: str
    train_data_hash: str  # sha256 of the training manifest(s)
    n_frames: int
    seconds: float
    seed: int  # params train.seed (or `redbench train --seed`)
    cost: dict | None = None  # training cost for the equal-compute view (redbench/methods/convergence.py)

    def write(self, model_dir: PathLike) -> None:
        write_json_atomic(Path(model_dir) / TRAIN_INFO, asdict(self))

    @staticmethod
    def read(model_dir: PathLike) -> "TrainInfo":
        path = Path(model_dir) / TRAIN_INFO
        obj = read_json(path, ValueError, "no train_info.json (train the method first: `redbench train`)")
        try:
            if not isinstance(obj, dict):
                raise TypeError(f"expected an object, got {type(obj).__name__}")
            return TrainInfo(**obj)
        except TypeError as e:
            raise ValueError(f"{path}: not a valid train_info.json (retrain the method): {e}") from None


def as_manifest_dirs(manifests: PathLike | Sequence[PathLike]) -> list[Path]:
    """One shard folder or several (params `train.datasets` may list more than one)."""
    if isinstance(manifests, (str, os.PathLike)):
        return [Path(manifests)]
    return [Path(m) for m in manifests]


def train_data_hash(manifests: PathLike | Sequence[PathLike]) -> str:
    """The training manifest's sha256 (of the sha256s, in order, when there are several)."""
    from redbench.datasets.shards import load_manifest

    hashes = [load_manifest(d).sha256 for d in as_manifest_dirs(manifests)]
    return hashes[0] if len(hashes) == 1 else sha256_bytes(",".join(hashes).encode())
