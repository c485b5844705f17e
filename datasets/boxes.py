"""Face-box protocols stored per frame in context-crop coordinates (x0, y0, x1, y1), pixel edges.

- `gt`: the tight box of the ground-truth landmarks, enlarged about its centre by `gt_box_scale` (1.0 = tight).
- `gt_jitter`: the gt box with seeded random centre shift and scale, drawn per frame from (seed, clip id), so
  every method and every re-run sees the same jitter.
- `detector`: dlib's HOG frontal face detector run on the context crop (resized to `detector_size`); where it
  finds no face the previous frame's detector box is reused (the gt box at the start of a clip) and
  `detector_found` is False. dlib's boxes have their own geometry (square, about the landmark width, shifted
  up toward the brows): methods see them as they are.
- `tracking` is not stored: it starts from boxes["gt"][0]; later boxes come from each method's own predictions.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from redbench.config import param
from redbench.datasets.geometry import landmark_box


@dataclass(frozen=True)
class BoxConfig:
    gt_box_scale: float = param(1.0, min=0, exclusive_min=True)  # gt box = tight landmark box x this, about its centre
    jitter_shift: float = param(0.05, min=0)  # gt_jitter centre shift sd, as a fraction of the box size sqrt(w h)
    jitter_scale: float = param(0.05, min=0)  # gt_jitter log-scale sd
    jitter_clip: float = param(3.0, min=0, exclusive_min=True)  # draws are clipped at this many sd
    detector_size: int = param(160, min=32)  # the context crop is resized to this before HOG (faces ~ half of it, ~80 px)
    detector_upsample: int = param(0, min=0, max=3)  # dlib's pyramid upsampling (each step ~4x slower)
    seed: int = param(0, min=0)


def scale_box(box: np.ndarray, scale: float) -> np.ndarray:
    """Boxes (..., 4) scaled by `scale` about their centres (aspect kept)."""
    box = np.asarray(box, dtype=np.float64)
    centre = (box[..., :2] + box[..., 2:]) / 2
    half = (box[..., 2:] - box[..., :2]) / 2 * scale
    return np.concatenate([centre - half, centre + half], axis=-1)


def gt_boxes(landmarks: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(T, 4) gt boxes from landmarks (T, 68, 2): the tight landmark box enlarged by `scale`."""
    return scale_box(landmark_box(landmarks), scale)


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


class HogDetector:
    """dlib's HOG frontal face detector on context crops. Returns the highest-scoring box or None.

    Measured on this project's machines: 0.9 ms at 128 px, 2.2 ms at 192 px, 3.6 ms at 256 px per image
    (upsample 0); HOG's 80 px window misses faces smaller than ~80 px, hence the resize to `detector_size`
    (the context crop holds the face at about half its side). Running on the crop rather than the frame
    keeps the cost independent of the video's resolution. On 130 synthetic 300-VW context crops the found
    rate was 73.8% at 160 px, 74.6% at 192, 73.8% at 256 and 77.7% at 128 px with upsample 1 (3.5, 4.9,
    9.5, 7.9 ms per crop): 160 px is the default.
    """

    def __init__(self, size: int = 160, upsample: int = 0):
        import dlib

        self.size, self.upsample = size, upsample
        self._detector = dlib.get_frontal_face_detector()

    def __call__(self, crop: np.ndarray) -> np.ndarray | None:
        """The best face box (4,) in `crop`'s pixel coords (edges), or None. crop: (S, S, 3) uint8 RGB."""
        s = crop.shape[0]
        image = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_LINEAR) if s != self.size else crop
        rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
        if not rects:
            return None
        r = rects[int(np.argmax(scores))]
        # dlib's right/bottom are inclusive pixel indices: edges are left - 0.5 .. right + 0.5 (pixel-centre
        # coordinates); a detector-image coordinate d maps to crop coordinate (d + 0.5) * s / size - 0.5.
        edges = np.array([r.left() - 0.5, r.top() - 0.5, r.right() + 0.5, r.bottom() + 0.5])
        return (edges + 0.5) * (s / self.size) - 0.5


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
