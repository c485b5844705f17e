"""Face boxes: the box protocols preprocessing stores and the gt box rule every method's tracking uses.

Boxes are (x0, y0, x1, y1) pixel edges in context-crop coordinates; points are 0-based pixel centres
(redbench.datasets.geometry holds the affine primitives). Stored per frame by preprocessing:
- `gt`: the tight box of the ground-truth landmarks, enlarged about its centre by `gt_box_scale` (1.0 = tight):
  `gt_boxes`, the one gt box rule.
- `gt_jitter`: the gt box with seeded random centre shift and scale, drawn per frame from (seed, clip id), so
  every method and every re-run sees the same jitter.
- `detector`: dlib's HOG frontal face detector run on the context crop (redbench.datasets.detector, resized to
  `detector_size`); where it finds no face the previous frame's detector box is reused (the gt box at the
  start of a clip) and `detector_found` is False. Frames of splits outside `detector_splits` are not searched:
  NaN boxes. dlib's boxes have their own geometry (`DlibBoxModel`): methods see them as they are.
- `tracking` is not stored: it starts from boxes["gt"][0]; later boxes come from each method's own predictions
  through `tracking_box`, the gt box rule applied to the prediction, so tracking a perfect prediction
  reproduces the gt boxes whatever `gt_box_scale` is.

What a method does with its box is part of the method (redbench.datasets.input_crop, the crop adapter).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from redbench.config import param
from redbench.datasets.geometry import landmark_box

@dataclass(frozen=True)
class BoxConfig:
    gt_box_scale: float = param(1.0, min=0, exclusive_min=True)  # gt box = tight landmark box x this, about its centre
    jitter_shift: float = param(0.05, min=0)  # gt_jitter centre shift sd, as a fraction of the box size sqrt(w h)
    jitter_scale: float = param(0.05, min=0)  # gt_jitter log-scale sd
    jitter_clip: float = param(3.0, min=0, exclusive_min=True)  # draws are clipped at this many sd
    detector_size: int = param(160, min=32, max=2048)  # the context crop is resized to this before HOG (faces ~ half of it, ~80 px)
    detector_upsample: int = param(0, min=0, max=3)  # dlib's pyramid upsampling (each step ~4x slower)
    # Splits whose frames get a detector box. The detector is most of preprocess's time (docs/speed.md) and
    # only the `detector` protocol reads its boxes: predict on test frames; training on detector boxes (RED's
    # `box: detector`) needs "train" too. Elsewhere boxes/detector is NaN and detector_found False.
    detector_splits: tuple[str, ...] = param(("test",), choices=("train", "test"))
    seed: int = 0


def scale_box(box: np.ndarray, scale: float) -> np.ndarray:
    """Boxes (..., 4) scaled by `scale` about their centres (aspect kept)."""
    box = np.asarray(box, dtype=np.float64)
    centre = (box[..., :2] + box[..., 2:]) / 2
    half = (box[..., 2:] - box[..., :2]) / 2 * scale
    return np.concatenate([centre - half, centre + half], axis=-1)


def gt_boxes(landmarks: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Boxes (..., 4) from landmarks (..., 68, 2): the tight landmark box enlarged by `scale` (the gt box rule)."""
    return scale_box(landmark_box(np.asarray(landmarks, dtype=np.float64)), scale)


def tracking_box(points: np.ndarray, gt_box_scale: float = 1.0) -> np.ndarray:
    """The next frame's box (4,) from a prediction (68, 2): the gt box rule, with the shards' gt_box_scale."""
    return gt_boxes(points, gt_box_scale)


def flip_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """Boxes (..., 4) of a horizontally flipped image `width` px wide: x -> width - 1 - x, as for points."""
    boxes, w = np.asarray(boxes, dtype=np.float64), width - 1
    return np.stack([w - boxes[..., 2], boxes[..., 1], w - boxes[..., 0], boxes[..., 3]], axis=-1)


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """The jitter stream of one clip: depends only on the seed and the clip's name, not on processing order."""
    return np.random.default_rng([seed, zlib.crc32(clip_id.encode("utf-8"))])


def jitter_boxes(gt: np.ndarray, rng: np.random.Generator, cfg: BoxConfig) -> np.ndarray:
    """Jittered boxes (T, 4): centre + N(0, shift * sqrt(w h)) per axis, size x exp(N(0, scale)), clipped."""
    gt = np.asarray(gt, dtype=np.float64)
    t = len(gt)
    # One (T, 3) draw, row per frame: a clip processed in blocks gets the same jitter as in one piece.
    z = np.clip(rng.standard_normal((t, 3)), -cfg.jitter_clip, cfg.jitter_clip)
    shift, log_s = z[:, :2] * cfg.jitter_shift, z[:, 2] * cfg.jitter_scale
    size = np.sqrt(np.prod(gt[:, 2:] - gt[:, :2], axis=1))  # (T,)
    centre = (gt[:, :2] + gt[:, 2:]) / 2 + shift * size[:, None]
    half = (gt[:, 2:] - gt[:, :2]) / 2 * np.exp(log_s)[:, None]
    return np.concatenate([centre - half, centre + half], axis=1)


def require_boxes(boxes: np.ndarray, name: str, where: str, frame_indices: np.ndarray | None = None) -> None:
    """Refuse NaN boxes (T, 4) read where a method needs them (a split preprocess ran no detector on): a
    ValueError naming `where`, the first such frame when frame_indices (T,) is given, and the param."""
    missing = ~np.isfinite(boxes).all(axis=-1)
    if not missing.any():
        return
    if frame_indices is not None:
        where = f"{where} frame {int(frame_indices[np.flatnonzero(missing)[0]])}"
    hint = (" (preprocess.boxes.detector_splits leaves this split without detector boxes: add it and "
            "preprocess again)" if name == "detector" else "")
    raise ValueError(f"{where}: no {name} box{hint}")


def detector_boxes(found: list[np.ndarray | None], gt: np.ndarray,
                   previous: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill misses: (boxes (T, 4), found (T,) bool, last box) from per-frame detections (None = no face).

    A miss takes the previous frame's box (carried across blocks through `previous`), or the frame's gt box
    at the start of a clip.
    """
    out = np.empty((len(found), 4))
    ok = np.zeros(len(found), dtype=bool)
    for t, box in enumerate(found):
        if box is not None:
            previous, ok[t] = box, True
        elif previous is None:
            previous = gt[t]
        out[t] = previous
    return out, ok, previous
