"""Face boxes, the one home of box geometry: the box protocols, the gt box rule, the crop adapter every learned
method uses, and dlib's HOG detector with the geometry of its boxes.

Boxes are (x0, y0, x1, y1) pixel edges in context-crop coordinates; points are 0-based pixel centres
(redbench.datasets.geometry holds the affine primitives). Stored per frame by preprocessing:
- `gt`: the tight box of the ground-truth landmarks, enlarged about its centre by `gt_box_scale` (1.0 = tight):
  `gt_boxes`, the one gt box rule.
- `gt_jitter`: the gt box with seeded random centre shift and scale, drawn per frame from (seed, clip id), so
  every method and every re-run sees the same jitter.
- `detector`: dlib's HOG frontal face detector run on the context crop (resized to `detector_size`); where it
  finds no face the previous frame's detector box is reused (the gt box at the start of a clip) and
  `detector_found` is False. Frames of splits outside `detector_splits` are not searched: NaN boxes. dlib's
  boxes have their own geometry (`DlibBoxModel`): methods see them as they are.
- `tracking` is not stored: it starts from boxes["gt"][0]; later boxes come from each method's own predictions
  through `tracking_box`, the gt box rule applied to the prediction, so tracking a perfect prediction
  reproduces the gt boxes whatever `gt_box_scale` is.

What a method does with its box is part of the method. `square_crop` is the adapter of the CNNs, SDM and RED
(in training, the loaders, and in prediction): the box squared about its centre, scaled by a fixed factor and
resampled to the method's input size. It warns (`FaceResolutionWarning`) when that input magnifies the stored
face by more than `MAX_UPSAMPLE`: the method then sees interpolated pixels, not detail the shard lacks.
ert_pretrained checks its own input (baselines/ert_pretrained.py); ert resamples only so that dlib's integer
outputs are fine-grained (and is trained at that resolution), and mean_shape reads no pixels: neither warns.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from redbench.config import param
from redbench.datasets.geometry import apply_affine, box_to_affine, invert_affine, landmark_box, square_box, warp

# A method's input may magnify the stored face by at most this much before it is warned (issue 13): at the
# synthetic default (64 px faces) the paper RED preset's 128 px input of the box x 1.25 is 1.6x, the CPU
# methods 0.8-1.04x.
MAX_UPSAMPLE = 1.5


class FaceResolutionWarning(UserWarning):
    """A method's input upsamples the face stored in the shards by more than MAX_UPSAMPLE."""


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


# --- the crop adapter -------------------------------------------------------------------------------------------

def crop_affines(boxes: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(N, 2, 3) affines from context-crop coords to size x size inputs of the boxes (N, 4) squared and scaled."""
    squares = square_box(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), scale)
    return np.stack([box_to_affine(b, size) for b in squares]) if len(squares) else np.zeros((0, 2, 3))


def crop_affine(box: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(2, 3) affine from context-crop coords to a size x size input of the box squared and scaled."""
    return crop_affines(box, scale, size)[0]


def check_upsampling(stored_px: float, input_px: float, who: str, limit: float = MAX_UPSAMPLE) -> None:
    """Warn when a method's input holds the face at more than `limit` x the pixels the shard stores."""
    if stored_px > 0 and input_px / stored_px > limit:
        warnings.warn(FaceResolutionWarning(
            f"{who}: the input holds the face at {input_px:.0f} px but the shard crop at {stored_px:.0f} px "
            f"({input_px / stored_px:.2f}x upsampled, more than {limit}x): preprocess with a larger crop_size "
            f"(face px = crop_size / context_scale)"), stacklevel=3)


def square_crop(crops: np.ndarray, boxes: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample each frame's scaled square box: crops (N,S,S,3) uint8, boxes (N,4) -> ((N,size,size,3), (N,2,3)).

    The second array holds the crop->input affines; `to_crop` maps predictions back. Warns when the input
    upsamples the stored face (the box's longer side) by more than MAX_UPSAMPLE.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    affines = crop_affines(boxes, scale, size)
    if len(boxes):
        stored = float(np.median(np.max(boxes[:, 2:] - boxes[:, :2], axis=1)))
        check_upsampling(stored, size / scale, f"a {size} px input of the box x {scale}")
    images = np.stack([warp(c, a, size) for c, a in zip(crops, affines)]) if len(crops) else \
        np.zeros((0, size, size, 3), np.uint8)
    return images, affines


def to_input(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from context-crop coords into the inputs of `square_crop`."""
    return apply_affine(points, affines)


def to_crop(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from the inputs of `square_crop` back to context-crop coords."""
    return apply_affine(points, invert_affine(affines))


# --- dlib's HOG detector and the geometry of its boxes ------------------------------------------------------------

@dataclass(frozen=True)
class DlibBoxModel:
    """Where dlib's HOG detector puts its (square) box for a face, from the face's tight landmark box or from
    its landmarks: what dlib's 68-point model, trained on such boxes, expects as input.

    From the box: centre = box centre + (0, box_dy * h), side = box_side * (w + h) / 2 (yaw moves the
    detector's centre sideways by up to +-0.2 w, which the box alone cannot tell). From landmarks (68, 2):
    centre = their mean + (pts_dx, pts_dy) * r, side = pts_side * r, r = RMS distance of the points to their
    mean (this follows yaw). Defaults: `fit` on the 14 detected faces of the developers' 15 real annotated
    photographs (300-W style, dlib's detector with upsample 1; scripts/bench_real_faces.py reports them
    leave-one-out). On those faces the landmark rule's leave-one-out centre error is 0.04 of the detector's
    side against 0.11 for the box rule.
    """

    box_side: float = 1.080
    box_dy: float = -0.114
    pts_dx: float = -0.009
    pts_dy: float = -0.174
    pts_side: float = 2.812

    @staticmethod
    def fit(detections: np.ndarray, landmarks: np.ndarray) -> "DlibBoxModel":
        """Medians over faces of detector boxes (N, 4, edges) against their landmarks (N, 68, 2)."""
        det, pts = np.asarray(detections, np.float64), np.asarray(landmarks, np.float64)
        box = landmark_box(pts)
        wh = box[:, 2:] - box[:, :2]
        d_centre, d_side = (det[:, :2] + det[:, 2:]) / 2, det[:, 2] - det[:, 0]
        mean, r = _centre_and_radius(pts)
        return DlibBoxModel(
            box_side=float(np.median(d_side / wh.mean(axis=1))),
            box_dy=float(np.median((d_centre[:, 1] - (box[:, 1] + box[:, 3]) / 2) / wh[:, 1])),
            pts_dx=float(np.median((d_centre[:, 0] - mean[:, 0]) / r)),
            pts_dy=float(np.median((d_centre[:, 1] - mean[:, 1]) / r)),
            pts_side=float(np.median(d_side / r)))

    def from_box(self, box: np.ndarray, dx: float = 0.0) -> np.ndarray:
        """The detector-style box (4,) for a tight landmark box (4,), its centre moved by dx * w."""
        x0, y0, x1, y1 = (float(v) for v in box)
        w, h = x1 - x0, y1 - y0
        cx, cy, half = (x0 + x1) / 2 + dx * w, (y0 + y1) / 2 + self.box_dy * h, self.box_side * (w + h) / 4
        return np.array([cx - half, cy - half, cx + half, cy + half])

    def from_points(self, points: np.ndarray) -> np.ndarray:
        """The detector-style box (4,) for landmarks (68, 2)."""
        mean, r = _centre_and_radius(np.asarray(points, np.float64)[None])
        centre = mean[0] + np.array([self.pts_dx, self.pts_dy]) * r[0]
        half = self.pts_side * r[0] / 2
        return np.concatenate([centre - half, centre + half])


def _centre_and_radius(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (N, 2) and RMS distance to it (N,) of landmarks (N, L, 2)."""
    mean = points.mean(axis=1)
    return mean, np.sqrt(((points - mean[:, None]) ** 2).sum(axis=2).mean(axis=1))


class HogDetector:
    """dlib's HOG frontal face detector on context crops. Returns the highest-scoring box or None.

    Measured on this project's machines: 0.9 ms at 128 px, 2.2 ms at 192 px, 3.6 ms at 256 px per image
    (upsample 0); HOG's 80 px window misses faces smaller than ~80 px, hence the resize to `detector_size`
    (the context crop holds the face at about half its side). Running on the crop rather than the frame
    keeps the cost independent of the video's resolution. On 130 synthetic 300-VW context crops the found
    rate was 73.8% at 160 px, 74.6% at 192, 73.8% at 256 and 77.7% at 128 px with upsample 1 (3.5, 4.9,
    9.5, 7.9 ms per crop): 160 px is the default. `size=None` runs on the image as it is (any shape).
    """

    def __init__(self, size: int | None = 160, upsample: int = 0):
        import dlib

        self.size, self.upsample = size, upsample
        self._detector = dlib.get_frontal_face_detector()

    def __call__(self, crop: np.ndarray) -> np.ndarray | None:
        """The best face box (4,) in `crop`'s pixel coords (edges), or None. crop: (H, W, 3) uint8 RGB."""
        s = crop.shape[0]
        resize = self.size is not None and s != self.size
        image = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_LINEAR) if resize else crop
        rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
        if not rects:
            return None
        r = rects[int(np.argmax(scores))]
        # dlib's right/bottom are inclusive pixel indices: edges are left - 0.5 .. right + 0.5 (pixel-centre
        # coordinates); a detector-image coordinate d maps to crop coordinate (d + 0.5) * s / size - 0.5.
        edges = np.array([r.left() - 0.5, r.top() - 0.5, r.right() + 0.5, r.bottom() + 0.5])
        return (edges + 0.5) * (s / self.size) - 0.5 if resize else edges


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
