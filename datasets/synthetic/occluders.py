"""Occluders that enter the frame, cover part of the face for a run of frames and leave.

Kinds: a hand (with its arm), a bar, a microphone, sunglasses, a cup. Each is drawn into the frame and into a
binary mask at the same time; a landmark is occluded exactly when the mask is set at its (rounded) pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redbench.datasets.synthetic.identity import SKIN_TONES

KINDS = ("hand", "bar", "microphone", "sunglasses", "cup")
# Face points an occluder of each kind is aimed at (0-based iBUG indices).
_ANCHORS = {
    "hand": ((48, 51, 54, 57), (36, 39, 30), (42, 45, 30), (2, 3, 4, 48), (12, 13, 14, 54), (30, 33, 51)),
    "bar": ((27, 30, 33), (36, 39, 42, 45), (48, 54, 57), (3, 30, 13)),
    "microphone": ((57, 8), (48, 59, 6), (54, 55, 10)),
    "sunglasses": ((36, 45),),
    "cup": ((57, 8), (48, 57, 7), (54, 57, 9)),
}


@dataclass(frozen=True)
class OccluderEvent:
    kind: str
    anchor: tuple[int, ...]  # landmarks whose mean the occluder is aimed at
    start: int  # first fully-on frame
    stop: int  # first frame after the fully-on run
    ramp: int  # frames to enter (before start) and to leave (after stop)
    direction: np.ndarray  # (2,) unit vector from the face toward where it comes from
    size: float  # fraction of the face height
    angle: float  # degrees
    colour: tuple[float, float, float]
    offset: np.ndarray  # (2,) aim offset from the anchor, in face heights

    def placement(self, t: int, anchor_xy: np.ndarray, face_h: float, travel: float) -> np.ndarray | None:
        """Centre (2,) px at frame t, or None when the occluder is out of view."""
        if t < self.start - self.ramp or t >= self.stop + self.ramp:
            return None
        if t < self.start:
            f = (self.start - t) / (self.ramp + 1)
        elif t >= self.stop:
            f = (t - self.stop + 1) / (self.ramp + 1)
        else:
            f = 0.0
        return anchor_xy + self.offset * face_h + self.direction * f * travel


def sample_events(rng: np.random.Generator, n_frames: int, prob: float, max_count: int,
                  run: tuple[float, float], size: tuple[float, float]) -> list[OccluderEvent]:
    """Random occluder events for a video of n_frames (a still: n_frames = 1, the event covers frame 0)."""
    events: list[OccluderEvent] = []
    if rng.random() >= prob:
        return events
    count = int(rng.integers(1, max_count + 1))
    for _ in range(count):
        kind = str(KINDS[rng.choice(len(KINDS), p=[0.35, 0.2, 0.15, 0.15, 0.15])])
        anchors = _ANCHORS[kind]
        anchor = anchors[int(rng.integers(len(anchors)))]
        if n_frames == 1:
            start, stop, ramp = 0, 1, 0
        else:
            length = max(2, int(round(rng.uniform(*run) * n_frames)))
            ramp = max(1, int(round(rng.uniform(0.05, 0.12) * n_frames)))
            start = int(rng.integers(0, max(1, n_frames - length) + 1))
            stop = min(n_frames, start + length)
        ang = rng.uniform(0, 2 * np.pi)
        direction = np.array([0.0, -1.0]) if kind == "sunglasses" else np.array([np.cos(ang), np.sin(ang)])
        if kind in ("microphone", "cup"):
            direction = np.array([rng.uniform(-0.6, 0.6), 1.0])
            direction /= np.linalg.norm(direction)
        tone = np.array(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], float) + rng.normal(0, 8, 3)
        col = tone if kind == "hand" else rng.uniform(15, 240, 3)
        if kind in ("microphone", "sunglasses"):
            col = rng.uniform(10, 60, 3)
        offset = np.zeros(2) if kind == "sunglasses" else rng.normal(0, 0.06, 2)
        events.append(OccluderEvent(kind=kind, anchor=anchor, start=start, stop=stop, ramp=ramp,
                                    direction=direction, size=float(rng.uniform(*size)),
                                    angle=float(rng.uniform(-35, 35)), colour=tuple(np.clip(col, 0, 255)),
                                    offset=offset))
    return events


def _rot(angle: float) -> np.ndarray:
    a = np.deg2rad(angle)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _capsule(targets, a: np.ndarray, b: np.ndarray, width: float) -> None:
    for img, col in targets:
        cv2.line(img, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)), col,
                 max(1, int(round(width))), cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8)


def _poly(targets, pts: np.ndarray) -> None:
    for img, col in targets:
        cv2.fillPoly(img, [np.round(pts).astype(np.int32)], col, cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8)


def _ellipse(targets, c: np.ndarray, axes: tuple[float, float], angle: float, thickness: int = -1) -> None:
    for img, col in targets:
        cv2.ellipse(img, tuple(int(v) for v in np.round(c)), (max(1, int(axes[0])), max(1, int(axes[1]))), angle,
                    0, 360, col, thickness, cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8)


def draw_occluder(img: np.ndarray, mask: np.ndarray, ev: OccluderEvent, centre: np.ndarray, face_h: float,
                  xy: np.ndarray) -> None:
    """Draw event `ev` centred at `centre` into img (H, W, 3) and mask (H, W) uint8 (set to 255)."""
    s = ev.size * face_h
    R = _rot(ev.angle)
    col = tuple(float(v) for v in ev.colour)
    both = [(img, col), (mask, 255)]
    back = ev.direction  # where it came from: arms and handles reach that way, off the frame
    if ev.kind == "hand":
        far = centre + back * 4 * s
        _capsule(both, centre, far, 0.42 * s)  # forearm
        _ellipse(both, centre, (0.3 * s, 0.36 * s), ev.angle)
        for k, dx in enumerate((-0.21, -0.07, 0.07, 0.21)):
            base = centre + R @ np.array([dx * s, -0.2 * s])
            tip = centre + R @ np.array([dx * 1.15 * s, -(0.62 + 0.08 * (k in (1, 2))) * s])
            _capsule(both, base, tip, 0.13 * s)
        _capsule(both, centre + R @ np.array([0.22 * s, 0.1 * s]), centre + R @ np.array([0.5 * s, -0.15 * s]),
                 0.14 * s)
        for dx in (-0.14, 0.0, 0.14):  # creases between fingers, colour only
            a = centre + R @ np.array([dx * s, -0.25 * s])
            b = centre + R @ np.array([dx * 1.1 * s, -0.6 * s])
            _capsule([(img, tuple(0.7 * v for v in col))], a, b, 1)
    elif ev.kind == "bar":
        d = R @ np.array([1.0, 0.0])
        nrm = np.array([-d[1], d[0]])
        w = 0.22 * s
        pts = np.stack([centre - d * 3 * s - nrm * w, centre + d * 3 * s - nrm * w,
                        centre + d * 3 * s + nrm * w, centre - d * 3 * s + nrm * w])
        _poly(both, pts)
        _capsule([(img, tuple(0.6 * v for v in col))], centre - d * 3 * s, centre + d * 3 * s, max(1, w / 4))
    elif ev.kind == "microphone":
        _capsule(both, centre, centre + back * 3 * s, 0.14 * s)
        _ellipse(both, centre, (0.24 * s, 0.24 * s), 0.0)
        for k in range(-2, 3):  # the grille
            _capsule([(img, (150.0, 150.0, 150.0))], centre + [k * 0.08 * s, -0.2 * s],
                     centre + [k * 0.08 * s, 0.2 * s], 1)
    elif ev.kind == "sunglasses":
        right, left = xy[36:42].mean(axis=0), xy[42:48].mean(axis=0)
        shift = centre - 0.5 * (right + left)
        span = np.linalg.norm(left - right)
        ang = float(np.degrees(np.arctan2(*(left - right)[::-1])))
        for e in (right, left):
            _ellipse(both, e + shift, (0.42 * span, 0.3 * span), ang)
        _capsule(both, right + shift, left + shift, max(1, 0.08 * span))
    elif ev.kind == "cup":
        w, h = 0.3 * s, 0.42 * s
        body = np.array([[-w, -h], [w, -h], [0.8 * w, h], [-0.8 * w, h]]) @ R.T + centre
        _ellipse(both, centre + R @ np.array([w + 0.05 * s, -0.05 * s]), (0.14 * s, 0.2 * s), ev.angle,
                 max(1, int(0.07 * s)))
        _poly(both, body)
        _capsule([(img, tuple(min(255.0, 1.25 * v + 20) for v in col))], centre + R @ np.array([-0.5 * w, -h]),
                 centre + R @ np.array([-0.45 * w, h]), max(1, 0.1 * s))
    else:
        raise ValueError(f"unknown occluder kind {ev.kind!r}")


def occlusion_flags(mask: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(68,) bool: the mask is set at each landmark's nearest pixel (points outside the frame: False)."""
    h, w = mask.shape
    ij = np.round(xy).astype(int)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    out = np.zeros(len(xy), bool)
    out[inside] = mask[ij[inside, 1], ij[inside, 0]] > 0
    return out
