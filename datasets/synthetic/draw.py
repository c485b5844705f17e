"""Small OpenCV drawing helpers: sub-pixel anti-aliased polygons and masked compositing on RGB images."""

from __future__ import annotations

import cv2
import numpy as np

SHIFT = 4  # cv2 fractional bits: coordinates are drawn at 1/16 px
_ONE = 1 << SHIFT


def fixed(xy: np.ndarray) -> np.ndarray:
    """Points (..., 2) in px as cv2 fixed-point int32 (with SHIFT fractional bits)."""
    return np.round(np.asarray(xy, dtype=np.float64) * _ONE).astype(np.int32)


def colour(c: tuple[float, float, float] | np.ndarray, gain: float = 1.0) -> tuple[float, float, float]:
    c = np.clip(np.asarray(c, dtype=np.float64) * gain, 0, 255)
    return (float(c[0]), float(c[1]), float(c[2]))


def fill_poly(img: np.ndarray, poly: np.ndarray, c: tuple[float, float, float]) -> None:
    cv2.fillPoly(img, [fixed(poly).reshape(-1, 1, 2)], c, cv2.LINE_AA, SHIFT)


def polyline(img: np.ndarray, pts: np.ndarray, c: tuple[float, float, float], thickness: float,
             closed: bool = False) -> None:
    cv2.polylines(img, [fixed(pts).reshape(-1, 1, 2)], closed, c, max(1, int(round(thickness))), cv2.LINE_AA, SHIFT)


def ellipse(img: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle: float,
            c: tuple[float, float, float], thickness: int = -1) -> None:
    ax = (max(1, int(round(axes[0] * _ONE))), max(1, int(round(axes[1] * _ONE))))
    cv2.ellipse(img, tuple(int(v) for v in fixed(centre)), ax, float(angle), 0, 360, c, thickness,
                cv2.LINE_AA, SHIFT)


def roi_of(points: np.ndarray, shape: tuple[int, ...], pad: float) -> tuple[int, int, int, int]:
    """Integer box (x0, y0, x1, y1) around points, padded and clipped to an image of `shape`."""
    lo = np.floor(points.min(axis=0) - pad).astype(int)
    hi = np.ceil(points.max(axis=0) + pad).astype(int) + 1
    x0, y0 = max(0, lo[0]), max(0, lo[1])
    x1, y1 = min(shape[1], hi[0]), min(shape[0], hi[1])
    return x0, y0, max(x0, x1), max(y0, y1)


def poly_mask(shape_hw: tuple[int, int], poly: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Anti-aliased coverage (H, W) float32 in [0, 1] of a polygon, in a box whose top-left is `origin`."""
    m = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(m, [fixed(np.asarray(poly) - origin).reshape(-1, 1, 2)], 255, cv2.LINE_AA, SHIFT)
    return m.astype(np.float32) * (1.0 / 255.0)


def blend(img: np.ndarray, box: tuple[int, int, int, int], layer: np.ndarray, alpha: np.ndarray) -> None:
    """img[box] = alpha * layer + (1 - alpha) * img[box], in place; layer (h, w, 3), alpha (h, w)."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    dst = img[y0:y1, x0:x1].astype(np.float32)
    a = alpha[..., None]
    img[y0:y1, x0:x1] = np.clip(dst + a * (layer - dst), 0, 255).astype(np.uint8)


def blend_poly(img: np.ndarray, poly: np.ndarray, c: tuple[float, float, float], opacity: float) -> None:
    """Fill a polygon with a flat colour at partial opacity."""
    box = roi_of(poly, img.shape, 1.0)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    a = poly_mask((y1 - y0, x1 - x0), poly, (x0, y0)) * opacity
    blend(img, box, np.broadcast_to(np.array(c, np.float32), (y1 - y0, x1 - x0, 3)), a)


def blend_polyline(img: np.ndarray, pts: np.ndarray, c: tuple[float, float, float], thickness: float,
                   opacity: float) -> None:
    """An anti-aliased open polyline at partial opacity (soft creases and shadows)."""
    box = roi_of(pts, img.shape, thickness + 2.0)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.polylines(m, [fixed(np.asarray(pts) - (x0, y0)).reshape(-1, 1, 2)], False, 255,
                  max(1, int(round(thickness))), cv2.LINE_AA, SHIFT)
    a = m.astype(np.float32) * (opacity / 255.0)
    blend(img, box, np.broadcast_to(np.array(c, np.float32), (y1 - y0, x1 - x0, 3)), a)
