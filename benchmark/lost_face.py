"""Losing the face: runs of consecutive frames of a clip whose NME stays above a threshold, and whether the
method comes back within the clip.

Under the tracking box protocol a method's own output places the next frame's box, so one bad frame can walk
the box off the face for good; under the other protocols a lost frame is followed by a fresh box. A *loss*
is a run of at least `min_frames` consecutive scored rows of one clip with NME > `threshold` (NaN ends a
run); it *recovers* when the clip goes on after it (the NME is back at or below the threshold before the
clip ends), and not when the run reaches the clip's last frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from redbench.config import param


@dataclass(frozen=True)
class LostFaceConfig:
    # NME (the headline normaliser and points) above this counts as off the face: a quarter of the
    # inter-ocular distance on average over the points, three times the 0.08 failure threshold
    threshold: float = param(0.25, min=0, exclusive_min=True)
    min_frames: int = param(10, min=1)  # consecutive frames above it: a loss (10 frames = 0.4 s at 25 fps)


def loss_runs(nme: np.ndarray, clip_codes: np.ndarray, threshold: float,
              min_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first row (R,), length (R,), recovered (R,) bool) of every loss; rows sorted by clip and frame."""
    above = np.asarray(nme, dtype=np.float64) > threshold  # NaN: not above
    codes = np.asarray(clip_codes)
    n = len(above)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    new_clip = np.r_[True, codes[1:] != codes[:-1]]
    last_of_clip = np.r_[codes[1:] != codes[:-1], True]
    starts = np.flatnonzero(above & (new_clip | ~np.r_[False, above[:-1]]))
    ends = np.flatnonzero(above & (last_of_clip | ~np.r_[above[1:], False]))  # inclusive, in the same order
    lengths = ends - starts + 1
    keep = lengths >= min_frames
    return starts[keep], lengths[keep], ~last_of_clip[ends[keep]]


def lost_face(values: dict[str, dict[str, np.ndarray]], clip_codes: np.ndarray, cfg: LostFaceConfig,
              key: str = "nme") -> dict[str, Any]:
    """Per method: how many clips it loses the face in, how many losses, how many recover, and the share
    of frames inside a loss."""
    codes = np.asarray(clip_codes)
    n_clips = int(len(np.unique(codes)))
    out: dict[str, Any] = {}
    for m, v in values.items():
        starts, lengths, recovered = loss_runs(v[key], codes, cfg.threshold, cfg.min_frames)
        losses = len(starts)
        out[m] = {"n_clips": n_clips, "clips_lost": int(len(np.unique(codes[starts]))), "losses": losses,
                  "recovered": int(recovered.sum()),
                  "frames_lost_fraction": float(lengths.sum() / len(codes)) if len(codes) else None}
    return {"threshold": cfg.threshold, "min_frames": cfg.min_frames,
            "note": f"a loss: at least {cfg.min_frames} consecutive frames of a clip with {key} > {cfg.threshold:g}; "
                    "recovered: the clip goes on below the threshold after it",
            "methods": out}
