"""The method protocol every method follows, and a base class for static (one-frame) methods.

A method takes the context crops of one clip in order plus their face boxes and returns 68 landmarks per frame
in context-crop coordinates. Static methods see one frame at a time; temporal methods see the clip in order and
keep state only within the clip (docs/interfaces.md, "Methods").

Box protocols (params `predict.box_protocol`): "gt", "gt_jitter", "detector" give every frame its box from the
shard; "tracking" gives only frame 0's ground-truth box, and each later frame's box is the tight box of the
method's own previous prediction (`tracking_box`), built as preprocessing builds the shards' "gt" box from the
ground-truth landmarks (their tight box; redbench.datasets.boxes, gt_box_scale = 1.0), so tracking from a perfect
prediction reproduces the gt protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from redbench._io import write_json_atomic
from redbench.datasets.geometry import landmark_box

BOX_PROTOCOLS = ("gt", "gt_jitter", "detector", "tracking")
TRAIN_INFO = "train_info.json"


@runtime_checkable
class Method(Protocol):
    name: str
    temporal: bool

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool) -> np.ndarray:
        """crops (T,S,S,3) uint8, boxes (T,4) crop coords -> (T,68,2) float64 crop coords."""
        ...


def tracking_box(points: np.ndarray) -> np.ndarray:
    """The next frame's box (4,) from a prediction (68, 2), built as the shards' gt box: its tight box."""
    return landmark_box(np.asarray(points, dtype=np.float64))


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

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool) -> np.ndarray:
        crops = np.asarray(crops)
        boxes = np.asarray(boxes, dtype=np.float64)
        assert crops.ndim == 4 and crops.shape[-1] == 3, crops.shape
        assert boxes.shape == (len(crops), 4), boxes.shape
        if not tracking:
            out = [self.predict(crops[i:i + self.batch_size], boxes[i:i + self.batch_size])
                   for i in range(0, len(crops), self.batch_size)]
            return np.concatenate(out).astype(np.float64)  # (T, 68, 2)
        out = np.empty((len(crops), 68, 2), dtype=np.float64)
        box = boxes[0]
        for t in range(len(crops)):
            out[t] = self.predict(crops[t:t + 1], box[None])[0]
            box = tracking_box(out[t])
        return out


@dataclass(frozen=True)
class TrainInfo:
    """What a trained model saw, written beside its weights as train_info.json (read by the predict driver)."""

    method: str
    method_version: str
    config_hash: str
    train_data_hash: str  # sha256 of the training manifest(s)
    n_frames: int
    seconds: float

    def write(self, model_dir: str | Path) -> None:
        write_json_atomic(Path(model_dir) / TRAIN_INFO, self.__dict__)

    @staticmethod
    def read(model_dir: str | Path) -> "TrainInfo":
        path = Path(model_dir) / TRAIN_INFO
        if not path.exists():
            raise FileNotFoundError(f"{path}: no train_info.json (train the method first: `redbench train`)")
        try:
            obj: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return TrainInfo(**obj)
        except (json.JSONDecodeError, TypeError) as e:
            raise ValueError(f"{path}: not a valid train_info.json: {e}") from None
