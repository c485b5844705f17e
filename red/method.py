"""The `red` and `red_static` methods (redbench.methods table): Config and load, the side prediction imports
(training: red/method_train.py, named by the table's `train_module`).

Both names use this module; params `methods.red_static` sets `variant: static`. Other ablations (no_srnn,
no_cls, reg_only) are the same method with another variant; their Method name is `red_<variant>`.

The defaults of params methods.red (group norm, the lr schedule, the step budget, 50 training videos) come
from measurements on the synthetic default, logged in docs/red.md. Validation holds out params
`train.val_fraction` of the training identities, with a split seed fixed at 0 so that training seeds compare
on the same people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from redbench.config import param
from redbench.red.checkpoint import MODEL, load_model
from redbench.red.config import DECODINGS, NORMS, POINT_SETS, SRNN_FEEDBACK, VARIANTS, RedConfig, make_config
from redbench.red.train_config import TrainConfig

VERSION = "1"


@dataclass(frozen=True)
class Config:
    preset: str = param("tiny", choices=("tiny", "paper"))  # tiny (64 px, VGG widths / 8: the CPU default) | paper (128 px, VGG-16 widths)
    variant: str = param("full", choices=VARIANTS)  # full | static | no_srnn | no_cls | reg_only (red/config.py)
    point_set: str = param("68", choices=POINT_SETS)  # 68 | demo7 (the released demo's 7 points; trainable, not benchmarkable)
    # the points the response maps cover: demo7 (the authors' 7; red/config.py says why) | 68 | null (= point_set)
    map_points: str | None = param("demo7", choices=POINT_SETS)
    label_square: int = param(5, min=1, max=63)  # side in px of each map point's square in the label-map target
    norm: str = param("group", choices=NORMS)  # group | batch (group: training and eval normalise alike; red/config.py says why)
    frame_feedback: bool = False  # feed the previous frame's prediction to pass 0 (off: docs/red.md says why)
    decode: str = param("reg", choices=DECODINGS)  # reg (f_REG, the paper's) | soft_argmax (the maps' expected positions; red/config.py)
    srnn_feedback: str = param("hard", choices=SRNN_FEEDBACK)  # hard (the paper's argmax squares) | soft (the previous pass's softmax)
    temporal_gate: bool = False  # zero-initialised gates on f_tRNN and C_id: full RED starts as RED-static
    input_size: int | None = param(None, min=16, max=1024)  # overrides the preset's
    box: str = param("gt", choices=("gt", "gt_jitter", "detector"))  # training box from the shards: gt | gt_jitter | detector
    box_scale: float = param(1.25, min=0, max=10, exclusive_min=True)  # the input is the box squared and enlarged by this factor (training and inference)
    clip_len: int = param(4, min=1, max=1000)  # frames per training clip window
    augment: bool = True  # the loaders' default flips, rotations, shifts and colour jitter
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        # the model's own checks (red/config.py: variant, point sets, norm, decoding, sizes), as errors naming
        # the params keys rather than assertions from deep inside training
        try:
            self.model_config()
        except (AssertionError, ValueError) as e:
            raise ValueError(f"(preset, variant, point_set, map_points, label_square, norm, decode, input_size) "
                             f"do not make a RED model: {e}") from None

    def model_config(self, n_identities: int = 1) -> RedConfig:
        return make_config(self.preset, variant=self.variant, point_set=self.point_set, map_points=self.map_points,
                           label_square=self.label_square, norm=self.norm,
                           frame_feedback=self.frame_feedback, decode=self.decode, input_size=self.input_size,
                           srnn_feedback=self.srnn_feedback, temporal_gate=self.temporal_gate,
                           n_identities=n_identities)


def method_name(variant: str) -> str:
    return {"full": "red", "static": "red_static"}.get(variant, f"red_{variant}")


class RedMethod:
    """RED behind the method protocol: a clip of context crops in order -> (T, 68, 2) crop coords."""

    def __init__(self, model, box_scale: float, device: torch.device) -> None:
        from redbench.red.model import RED

        assert isinstance(model, RED)
        self.model = model.eval().to(device)
        self.box_scale, self.device = box_scale, device
        self.name = method_name(model.cfg.variant)
        self.temporal = model.cfg.temporal

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool, *,
                     gt_box_scale: float = 1.0) -> np.ndarray:
        from redbench.datasets.input_crop import square_crop, to_crop
        from redbench.methods.tracking import track
        from redbench.red.infer import OnlineRED, predict_static_batch

        crops, boxes = np.asarray(crops), np.asarray(boxes, dtype=np.float64)
        assert crops.ndim == 4 and crops.shape[-1] == 3 and boxes.shape == (len(crops), 4), (crops.shape, boxes.shape)
        s = self.model.cfg.input_size
        if not tracking and not self.temporal:  # independent frames: one batch
            images, affines = square_crop(crops, boxes, self.box_scale, s)
            pts = predict_static_batch(self.model, _to_tensor(images), self.device)
            return to_crop(pts, affines)  # (T, 68, 2)
        runner = OnlineRED(self.model, self.device)
        if not tracking:  # every frame's box is known: the clip in batched chunks (OnlineRED.run_clip)
            images, affines = square_crop(crops, boxes, self.box_scale, s)
            return runner.run_clip(_to_tensor(images), affines)  # crop coords

        def step(t: int, box: np.ndarray) -> np.ndarray:
            image, affine = square_crop(crops[t:t + 1], box[None], self.box_scale, s)
            return runner.step(_to_tensor(image)[0], affine[0])  # crop coords

        return track(step, boxes, tracking, gt_box_scale=gt_box_scale)

    def track_clips(self, clips: Sequence[np.ndarray], first_boxes: np.ndarray, *,
                    gt_box_scale: float = 1.0) -> list[np.ndarray]:
        """The tracking protocol over several clips at once: frame t of every clip in one forward
        (red.infer.BatchedOnlineRED), each clip with its own state; per clip, what predict_clip(tracking=True)
        gives (to float rounding: one batched forward instead of one per clip)."""
        from redbench.datasets.input_crop import square_crop
        from redbench.methods.tracking import track_batch
        from redbench.red.infer import BatchedOnlineRED

        s = self.model.cfg.input_size
        lengths = np.array([len(c) for c in clips], dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")  # longest first: the clips running at frame t are a prefix
        runner = BatchedOnlineRED(self.model, self.device)

        def step(t: int, active: np.ndarray, boxes: np.ndarray) -> np.ndarray:
            crops = np.stack([clips[order[j]][t] for j in active])
            images, affines = square_crop(crops, boxes, self.box_scale, s)
            return runner.step(_to_tensor(images), affines)  # crop coords

        tracked = track_batch(step, np.asarray(first_boxes, dtype=np.float64)[order], lengths[order], gt_box_scale)
        out: list[np.ndarray] = [np.empty(0)] * len(clips)
        for j, k in enumerate(order):
            out[k] = tracked[j]
        return out


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, s, s, 3) uint8 -> (N, 3, s, s) float in [0, 1]."""
    return torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32)).div_(255.0)


def load(model_dir: str | Path | None, cfg: Config) -> RedMethod:
    path = Path(model_dir or ".") / MODEL
    if not path.exists():
        raise FileNotFoundError(f"{path}: no RED model (run `redbench train {method_name(cfg.variant)}`)")
    model = load_model(path)
    model_cfg = model.cfg
    if model_cfg.variant != cfg.variant or model_cfg.point_set != cfg.point_set:
        raise ValueError(f"{path}: trained as variant={model_cfg.variant} point_set={model_cfg.point_set}, "
                         f"but the config asks for variant={cfg.variant} point_set={cfg.point_set}")
    if model_cfg.n_landmarks != 68:
        raise ValueError(f"{path}: a {model_cfg.n_landmarks}-point model cannot be scored on 68 points")
    return RedMethod(model, cfg.box_scale, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
