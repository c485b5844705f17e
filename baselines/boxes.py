"""Box adapters: how each method turns a frame's face box into its own input.

Every method receives the same box per frame (x0, y0, x1, y1 in context-crop pixels; the shards' "gt" box is the
tight box of the ground-truth landmarks, redbench.datasets.boxes). What a method does with it is part of the method:

- `square_crop`: the CNNs, SDM and our ERT take the box squared about its centre and scaled by a fixed factor,
  resampled to the method's input size (the same adapter in training and in prediction).
- `dlib_detector_rect`: dlib's public 68-point model was trained on boxes from dlib's HOG face detector, which
  are square, about as wide as the landmarks and shifted up (they stop near the chin, but start near the brows).
  Measured once on scikit-image's `astronaut` (70 views: scales 0.6-1.3, rotations -10..10 deg, mirrored; the
  detector's box against the tight box of the model's own 68 points): side = 0.99 * mean(w, h) of the
  landmark box, centre x unchanged (+-0.03 w), centre y 0.083 h above the landmark box's centre (+-0.03 h).
"""

from __future__ import annotations

import numpy as np

from redbench.datasets.geometry import apply_affine, box_to_affine, invert_affine, square_box, warp

# dlib detector rectangle relative to the tight landmark box (measured on astronaut, see module docstring).
DLIB_SIDE = 0.99
DLIB_SHIFT_Y = -0.083


def crop_affine(box: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(2, 3) affine from context-crop coords to a size x size input of the box squared and scaled."""
    return box_to_affine(square_box(np.asarray(box, dtype=np.float64), scale), size)


def square_crop(crops: np.ndarray, boxes: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample each frame's scaled square box: crops (N,S,S,3) uint8, boxes (N,4) -> ((N,size,size,3), (N,2,3)).

    The second array holds the crop->input affines; `to_crop` maps predictions back.
    """
    affines = np.stack([crop_affine(b, scale, size) for b in boxes]) if len(boxes) else np.zeros((0, 2, 3))
    images = np.stack([warp(c, a, size) for c, a in zip(crops, affines)]) if len(crops) else \
        np.zeros((0, size, size, 3), np.uint8)
    return images, affines


def to_input(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from context-crop coords into the inputs of `square_crop`."""
    return apply_affine(points, affines)


def to_crop(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from the inputs of `square_crop` back to context-crop coords."""
    return apply_affine(points, invert_affine(affines))


def dlib_detector_rect(box: np.ndarray) -> tuple[int, int, int, int]:
    """The dlib-detector-style (left, top, right, bottom) rectangle for a tight landmark box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    side = DLIB_SIDE * (w + h) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + DLIB_SHIFT_Y * h
    return (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
