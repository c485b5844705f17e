"""One synthetic sequence (a video, or a still as a 1-frame sequence): script it, then render frame by frame."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from redbench.datasets.mean_shape_3d import mean_shape_3d
from redbench.datasets.synthetic.background import make_background
from redbench.datasets.synthetic.expression import ExpressionTrack, apply_expression, sample_expressions
from redbench.datasets.synthetic.face_model import Camera, head_model, rotation
from redbench.datasets.synthetic.identity import Identity
from redbench.datasets.synthetic.occluders import OccluderEvent, draw_occluder, occlusion_flags, sample_events
from redbench.datasets.synthetic.render import render_face
from redbench.datasets.synthetic.trajectory import DIFFICULTY, Motion, sample_motion, smooth_noise

# Occluder size range (fraction of the face height) per difficulty category.
OCCLUDER_SIZE = {1: (0.3, 0.45), 2: (0.4, 0.65), 3: (0.55, 0.9)}


def mean_face_height_mm() -> float:
    """Landmark-box height of the mean shape in mm (brow top to chin): turns a face height in px into px per mm."""
    y = mean_shape_3d()[:, 1]
    return float(y.max() - y.min())


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) float64, 0-based px
    pose: np.ndarray  # (3,) yaw, pitch, roll degrees
    occluded: np.ndarray  # (68,) bool, covered by an occluder
    self_occluded: np.ndarray  # (68,) bool, hidden by the head itself


@dataclass(frozen=True)
class Script:
    """Everything random about a sequence, drawn up front so that rendering is a pure function of it."""

    identity: Identity
    category: int
    motion: Motion
    expressions: ExpressionTrack
    events: list[OccluderEvent]
    gaze: np.ndarray  # (T, 2)
    background: np.ndarray  # (H, W, 3) uint8
    noise_seed: int


def make_script(rng: np.random.Generator, identity: Identity, category: int, n_frames: int, fps: float,
                frame_wh: tuple[int, int], face_height: float) -> Script:
    diff = DIFFICULTY[category]
    motion = sample_motion(rng, n_frames, fps, diff, frame_wh, face_height, mean_face_height_mm())
    expr = sample_expressions(rng, n_frames, fps, talking=bool(rng.random() < 0.8))
    # A still always shows its occluder at full cover, so stills of categories 1-2 get one half as often
    # (300-W's common subset is mostly unoccluded; its challenging subset, category 3 here, is not).
    prob = diff.occluder_prob * (0.5 if n_frames == 1 and category < 3 else 1.0)
    events = sample_events(rng, n_frames, prob, diff.max_occluders, diff.occluder_run, OCCLUDER_SIZE[category])
    gaze = np.clip(0.5 * np.stack([smooth_noise(rng, n_frames, fps), smooth_noise(rng, n_frames, fps)], 1), -1, 1)
    background = make_background(rng, *frame_wh)
    motion = _keep_in_frame(motion, identity, expr, frame_wh)
    return Script(identity=identity, category=category, motion=motion, expressions=expr, events=events,
                  gaze=gaze, background=background, noise_seed=int(rng.integers(2**31)))


def project_landmarks(identity: Identity, motion: Motion, expr: ExpressionTrack) -> np.ndarray:
    """The ground-truth landmarks (T, 68, 2) of a scripted sequence, without rendering."""
    head = head_model(identity)
    out = np.empty((len(motion.pose), 68, 2))
    for t in range(len(motion.pose)):
        cam = Camera(R=rotation(*(float(v) for v in motion.pose[t])), centre=motion.centre[t],
                     scale=float(motion.scale[t]))
        out[t] = cam.project(apply_expression(head.landmarks, *expr.at(t)))
    return out


def _overflow(xy: np.ndarray, frame_wh: tuple[int, int], margin: float) -> np.ndarray:
    """Per-frame shift (T, 2) that brings every landmark inside the frame (0 where already inside)."""
    lo = xy.min(axis=1)  # (T, 2)
    hi = xy.max(axis=1)
    limit = np.array(frame_wh, float) - 1.0 - margin
    return np.maximum(0.0, margin - lo) - np.maximum(0.0, hi - limit)


def _keep_in_frame(motion: Motion, identity: Identity, expr: ExpressionTrack, frame_wh: tuple[int, int],
                   margin: float = 2.0) -> Motion:
    """Shift the trajectory smoothly so that every landmark stays inside the frame (exact labels need it)."""
    centre = motion.centre.copy()
    xy = project_landmarks(identity, motion, expr)
    for _ in range(4):  # smooth corrections first, then a hard clamp for what is left
        shift = _overflow(xy, frame_wh, margin)
        if not shift.any():
            break
        if len(shift) > 1:
            shift = gaussian_filter1d(shift * 1.5, 3.0, axis=0, mode="nearest") + shift
        centre += shift
        xy += shift[:, None, :]
    xy_shift = _overflow(xy, frame_wh, margin)
    centre += xy_shift
    return dataclasses.replace(motion, centre=centre)


def _motion_blur(img: np.ndarray, shift: np.ndarray) -> np.ndarray:
    length = float(np.linalg.norm(shift))
    if length < 1.5:
        return img
    k = int(np.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    d = shift / length * (length / 2)
    cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))), (int(round(c + d[0])), int(round(c + d[1]))),
             1.0, 1, cv2.LINE_AA)
    kernel /= kernel.sum()
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT)


_NOISE_PAD = 16


def _noise_bank(rng: np.random.Generator, h: int, w: int, sigma: float, n: int) -> np.ndarray:
    """Sensor-noise fields (n, h + pad, w + pad, 3) float32; each frame takes a random window of one.

    Luminance noise (shared by the channels) plus weaker per-channel chroma noise. Drawing fresh noise per
    frame would cost more than rendering the face; random windows of a few fields look the same.
    """
    lum = rng.standard_normal((n, h + _NOISE_PAD, w + _NOISE_PAD, 1), dtype=np.float32) * sigma
    chroma = rng.standard_normal((n, h + _NOISE_PAD, w + _NOISE_PAD, 3), dtype=np.float32) * (0.5 * sigma)
    return lum + chroma


def render_script(script: Script) -> Iterator[Frame]:
    """Render the sequence frame by frame (lazily)."""
    head = head_model(script.identity)
    m = script.motion
    noise_rng = np.random.default_rng(script.noise_seed)
    prev: np.ndarray | None = None
    h, w = script.background.shape[:2]
    mm_height = mean_face_height_mm()
    noise = _noise_bank(noise_rng, h, w, m.noise_sigma, min(4, len(m.pose)))
    for t in range(len(m.pose)):
        yaw, pitch, roll = (float(v) for v in m.pose[t])
        cam = Camera(R=rotation(yaw, pitch, roll), centre=m.centre[t], scale=float(m.scale[t]))
        p3 = apply_expression(head.landmarks, *script.expressions.at(t))
        img = script.background.copy()
        face = render_face(img, head, script.identity, p3, cam, m.light_dir[t], yaw, script.gaze[t])
        xy = face.landmarks
        mask = np.zeros((h, w), np.uint8)
        face_h = float(m.scale[t] * mm_height)
        for ev in script.events:
            centre = ev.placement(t, xy[list(ev.anchor)].mean(axis=0), face_h, travel=1.2 * max(w, h))
            if centre is not None:
                draw_occluder(img, mask, ev, centre, face_h, xy)
        occluded = occlusion_flags(mask, xy)
        # Camera effects: exposure/lighting gain, motion blur along the face's image motion, sensor noise.
        out = img.astype(np.float32)
        out *= (float(m.light_gain[t]) * m.tint).astype(np.float32)
        if prev is not None:
            out = _motion_blur(out, m.blur_exposure * (xy - prev).mean(axis=0))
        k, dy, dx = (int(v) for v in noise_rng.integers(0, [len(noise), _NOISE_PAD, _NOISE_PAD]))
        out += noise[k, dy:dy + h, dx:dx + w]
        np.clip(out, 0, 255, out=out)
        prev = xy
        yield Frame(image=out.astype(np.uint8), landmarks=xy, pose=m.pose[t].copy(),
                    occluded=occluded, self_occluded=face.self_occluded)
