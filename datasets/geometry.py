"""Boxes and 2x3 affine transforms between image, context-crop and model-input coordinates.

Conventions: points are 0-based pixel centres, (x, y). A box is (x0, y0, x1, y1) in the same pixel units.
A 2x3 affine `A` maps column vectors [x, y, 1] of the source to the destination; `warp` uses cv2.warpAffine,
whose matrix maps source pixel centres to destination pixel centres, matching the point convention.
"""

from __future__ import annotations

import cv2
import numpy as np


def landmark_box(points: np.ndarray) -> np.ndarray:
    """Tight box (..., 4) of landmarks (..., L, 2), ignoring NaN points."""
    lo = np.nanmin(points, axis=-2)
    hi = np.nanmax(points, axis=-2)
    return np.concatenate([lo, hi], axis=-1)


def square_box(box: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A square box with the same centre, side = scale * max(width, height)."""
    box = np.asarray(box, dtype=np.float64)
    centre = (box[..., :2] + box[..., 2:]) / 2
    side = scale * np.maximum(box[..., 2] - box[..., 0], box[..., 3] - box[..., 1])
    half = side[..., None] / 2
    return np.concatenate([centre - half, centre + half], axis=-1)


def box_to_affine(box: np.ndarray, out_size: int) -> np.ndarray:
    """The 2x3 affine mapping a square box (x0, y0, x1, y1) onto an out_size x out_size image.

    Pixel centres: the box's left edge x0 maps to -0.5 and its right edge x1 to out_size - 0.5.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    sx = out_size / (x1 - x0)
    sy = out_size / (y1 - y0)
    return np.array([[sx, 0.0, -0.5 - x0 * sx], [0.0, sy, -0.5 - y0 * sy]], dtype=np.float64)


def invert_affine(A: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine (or a batch (..., 2, 3))."""
    A = np.asarray(A, dtype=np.float64)
    M = A[..., :2]
    Minv = np.linalg.inv(M)
    t = -np.einsum("...ij,...j->...i", Minv, A[..., 2])
    return np.concatenate([Minv, t[..., None]], axis=-1)


def compose_affine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A after B: the affine x -> A(B(x))."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    M = A[..., :2] @ B[..., :2]
    t = np.einsum("...ij,...j->...i", A[..., :2], B[..., 2]) + A[..., 2]
    return np.concatenate([M, t[..., None]], axis=-1)


def apply_affine(points: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Map points (..., L, 2) by A (2, 3) or a batch (..., 2, 3) matching the leading dims."""
    A = np.asarray(A, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    return np.einsum("...ij,...lj->...li", A[..., :2], pts) + A[..., None, :, 2]


def warp(image: np.ndarray, A: np.ndarray, out_size: int, border_value: int = 0) -> np.ndarray:
    """Resample `image` through A into an out_size x out_size image (bilinear, constant border)."""
    return cv2.warpAffine(
        image,
        np.asarray(A, dtype=np.float64),
        (out_size, out_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value,) * 3,
    )
