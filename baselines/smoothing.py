"""Temporal post-processing of a static method's landmarks within a clip: the `<static>+smooth` rows.

Two causal filters (each frame's output uses only that frame and earlier ones, so tracking stays possible):
- One Euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass whose cutoff rises with the speed, so slow
  jitter is smoothed hard and fast motion follows with little lag. Units: positions in face sizes (the sqrt of
  the clip's first box area), time in seconds at `fps`, so the parameters do not depend on the crop size.
- Constant-velocity Kalman filter per coordinate (state: position, velocity; white-acceleration process noise).

With tracking, each frame's box comes from the previous *smoothed* prediction, as the combined method's own
previous output. The factory (redbench.methods.factory) builds these rows with `wrap`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from redbench.config import param
from redbench.methods.protocol import Method
from redbench.methods.tracking import track, track_batch

VERSION = "1"


@dataclass(frozen=True)
class Config:
    filter: str = "one_euro"  # "one_euro" | "kalman"
    fps: float = param(30.0, min=0, exclusive_min=True)  # frame rate the One Euro parameters are stated in (300-VW videos are 25-30 fps)
    min_cutoff: float = param(1.0, min=0, exclusive_min=True)  # Hz, One Euro cutoff at rest
    beta: float = param(5.0, min=0)  # One Euro speed coefficient (per face size per second)
    d_cutoff: float = param(1.0, min=0, exclusive_min=True)  # Hz, cutoff of the speed estimate
    process_noise: float = param(1e-3, min=0, exclusive_min=True)  # Kalman: acceleration std, face sizes per frame^2
    measurement_noise: float = param(0.01, min=0, exclusive_min=True)  # Kalman: measurement std, face sizes

    def __post_init__(self) -> None:
        if self.filter not in ("one_euro", "kalman"):
            raise ValueError(f"filter must be 'one_euro' or 'kalman', got {self.filter!r}")


class OneEuro:
    """One Euro filter over arrays of any shape, fed one frame at a time."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, rate: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * rate)

    def step(self, x: np.ndarray) -> np.ndarray:
        c = self.cfg
        if self.x is None:
            self.x, self.dx = x.copy(), np.zeros_like(x)
            return self.x.copy()
        dx = (x - self.x) * c.fps
        self.dx = self.dx + self._alpha(c.d_cutoff, c.fps) * (dx - self.dx)
        cutoff = c.min_cutoff + c.beta * np.abs(self.dx)
        self.x = self.x + self._alpha(cutoff, c.fps) * (x - self.x)
        return self.x.copy()


class ConstantVelocityKalman:
    """Independent constant-velocity Kalman filters for every element of the array, one frame per step."""

    def __init__(self, cfg: Config):
        q, r = cfg.process_noise**2, cfg.measurement_noise**2
        self.F = np.array([[1.0, 1.0], [0.0, 1.0]])
        self.Q = q * np.array([[0.25, 0.5], [0.5, 1.0]])  # discrete white acceleration, dt = 1 frame
        self.R = r
        self.s: np.ndarray | None = None  # (..., 2) position, velocity
        self.P: np.ndarray | None = None  # (..., 2, 2)

    def step(self, x: np.ndarray) -> np.ndarray:
        if self.s is None:
            self.s = np.stack([x, np.zeros_like(x)], -1)
            self.P = np.broadcast_to(np.diag([self.R, 1.0]), (*x.shape, 2, 2)).copy()
            return x.copy()
        s = self.s @ self.F.T
        P = self.F @ self.P @ self.F.T + self.Q
        S = P[..., 0, 0] + self.R  # innovation variance
        K = P[..., :, 0] / S[..., None]  # (..., 2)
        s = s + K * (x - s[..., 0])[..., None]
        P = P - K[..., :, None] * P[..., None, 0, :]
        self.s, self.P = s, P
        return s[..., 0].copy()


def make_filter(cfg: Config) -> OneEuro | ConstantVelocityKalman:
    return OneEuro(cfg) if cfg.filter == "one_euro" else ConstantVelocityKalman(cfg)


def smooth_track(points: np.ndarray, scale: float, cfg: Config) -> np.ndarray:
    """Filter a track (T, ...) of positions in px, `scale` px = one face size -> (T, ...) filtered."""
    f = make_filter(cfg)
    return np.stack([f.step(p / scale) for p in np.asarray(points, np.float64)]) * scale


def face_size(box: np.ndarray) -> float:
    return float(math.sqrt(max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)))


class Smoothed:
    """A static method followed by a causal filter within each clip (a temporal method)."""

    temporal = True

    def __init__(self, base: Method, cfg: Config):
        self.base, self.cfg = base, cfg
        self.name = f"{base.name}+smooth"

    def predict_clip(self, crops: np.ndarray, boxes: np.ndarray, tracking: bool, *,
                     gt_box_scale: float = 1.0) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64)
        scale = face_size(boxes[0])
        if not tracking:
            return smooth_track(self.base.predict_clip(crops, boxes, False), scale, self.cfg)
        f = make_filter(self.cfg)

        def step(t: int, box: np.ndarray) -> np.ndarray:
            raw = self.base.predict_clip(crops[t:t + 1], box[None], False)[0]
            return f.step(raw / scale) * scale

        return track(step, boxes, tracking=True, gt_box_scale=gt_box_scale)

    def track_clips(self, clips: Sequence[np.ndarray], first_boxes: np.ndarray, *,
                    gt_box_scale: float = 1.0) -> list[np.ndarray]:
        """The tracking protocol over several clips: frame t of every clip through the static base in one
        batch, then each clip's own filter; per clip, what predict_clip(tracking=True) gives."""
        first_boxes = np.asarray(first_boxes, dtype=np.float64)
        scales = [face_size(b) for b in first_boxes]
        filters = [make_filter(self.cfg) for _ in clips]

        def step(t: int, active: np.ndarray, boxes: np.ndarray) -> np.ndarray:
            raw = self.base.predict_clip(np.stack([clips[k][t] for k in active]), boxes, False)  # independent frames
            return np.stack([filters[k].step(raw[j] / scales[k]) * scales[k] for j, k in enumerate(active)])

        return track_batch(step, first_boxes, [len(c) for c in clips], gt_box_scale)


def wrap(base: Method, cfg: Config) -> Smoothed:
    """The `<base>+smooth` method."""
    if base.temporal:
        raise ValueError(f"{base.name} is temporal; smoothing rows are for static methods")
    return Smoothed(base, cfg)
