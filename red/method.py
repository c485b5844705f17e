"""The `red` and `red_static` methods (redbench.methods table): Config, train and load.

Both names use this module; params `methods.red_static` sets `variant: static`. Other ablations (no_srnn,
no_cls, reg_only) are the same method with another variant; their Method name is `red_<variant>`.

The defaults of params methods.red (group norm, the lr schedule, the step budget, 50 training videos) come
from measurements on the synthetic default, logged in docs/red.md. Validation holds out params
`train.val_fraction` of the training identities, with a split seed fixed at 0 so that training seeds compare
on the same people.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from redbench.config import params_hash
from redbench.red.config import RedConfig, make_config
from redbench.red.train import MODEL, TrainConfig, fit

log = logging.getLogger(__name__)

VERSION = "1"


@dataclass(frozen=True)
class Config:
    preset: str = "tiny"  # tiny (64 px, VGG widths / 8: the CPU default) | paper (128 px, VGG-16 widths)
    variant: str = "full"  # full | static | no_srnn | no_cls | reg_only (red/config.py)
    point_set: str = "68"  # 68 | demo7 (the released demo's 7 points; trainable, not benchmarkable)
    # the points the response maps cover: demo7 (the authors' 7; red/config.py says why) | 68 | null (= point_set)
    map_points: str | None = "demo7"
    label_square: int = 5  # side in px of each map point's square in the label-map target
    norm: str = "group"  # group | batch (group: training and eval normalise alike; red/config.py says why)
    frame_feedback: bool = False  # feed the previous frame's prediction to pass 0 (red/model.py: off, why)
    decode: str = "reg"  # reg (f_REG, the paper's) | soft_argmax (the maps' expected positions; red/config.py)
    input_size: int | None = None  # overrides the preset's
    box: str = "gt"  # training box from the shards: gt | gt_jitter | detector
    box_scale: float = 1.25  # the input is the box squared and enlarged by this factor (training and inference)
    clip_len: int = 4  # frames per training clip window
    augment: bool = True  # the loaders' default flips, rotations, shifts and colour jitter
    train: TrainConfig = field(default_factory=TrainConfig)

    def model_config(self, n_identities: int = 1) -> RedConfig:
        return make_config(self.preset, variant=self.variant, point_set=self.point_set, map_points=self.map_points,
                           label_square=self.label_square, norm=self.norm,
                           frame_feedback=self.frame_feedback, decode=self.decode, input_size=self.input_size,
                           n_identities=n_identities)


def method_name(variant: str) -> str:
    return {"full": "red", "static": "red_static"}.get(variant, f"red_{variant}")


def train(cfg: Config, train_manifest_dir: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | Path,
          *, seed: int, val_fraction: float = 0.2, resume: bool = False, progress: bool = False) -> list[dict]:
    """Train on the `train` split of the given shard folder(s), validating on the identities that
    `val_fraction` holds out from it (params `train.val_fraction`, passed by redbench.methods.train)."""
    from redbench.methods.convergence import read_cost
    from redbench.methods.protocol import TrainInfo, as_manifest_dirs, train_data_hash
    from redbench.datasets.loaders import AugmentConfig, ClipDataset, split_by_identity
    from redbench.datasets.shards import load_manifest

    t0 = time.perf_counter()
    dirs = as_manifest_dirs(train_manifest_dir)
    paths = [p for d in dirs for p in load_manifest(d).paths("train")]
    if not paths:
        raise ValueError(f"no training shards in {[str(d) for d in dirs]}")
    size = cfg.model_config().input_size
    common = dict(clip_len=cfg.clip_len, input_size=size, box=cfg.box, box_scale=cfg.box_scale, seed=seed)
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
        from redbench.datasets.boxes import square_crop, to_crop
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
        from redbench.datasets.boxes import square_crop
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
    from redbench.red.model import RED

    path = Path(model_dir or ".") / MODEL
    if not path.exists():
        raise FileNotFoundError(f"{path}: no RED model (run `redbench train {method_name(cfg.variant)}`)")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model_cfg = RedConfig(**saved["config"])
    except Exception as e:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable RED model: {e}") from None
    if model_cfg.variant != cfg.variant or model_cfg.point_set != cfg.point_set:
        raise ValueError(f"{path}: trained as variant={model_cfg.variant} point_set={model_cfg.point_set}, "
                         f"but the config asks for variant={cfg.variant} point_set={cfg.point_set}")
    if model_cfg.n_landmarks != 68:
        raise ValueError(f"{path}: a {model_cfg.n_landmarks}-point model cannot be scored on 68 points")
    model = RED(model_cfg)
    model.load_state_dict(saved["state_dict"])
    return RedMethod(model, cfg.box_scale, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
