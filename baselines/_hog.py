"""Dense HOG descriptors sampled at landmarks (for SDM).

Dalal-Triggs HOG as scikit-image computes it (central-difference gradients, unsigned orientation in 9 hard
bins of 20 degrees, magnitude summed per cell and divided by the cell area, L2-Hys block normalisation with
clipping at 0.2), but the cell histograms are computed once per image for every pixel position with a box
filter, so the descriptor of a 2x2-cell block centred anywhere is a gather. Why not the libraries: scikit-image's
`hog` per 16x16 patch costs ~1.5 ms per frame and cascade stage for 68 points (measured here), and OpenCV 5's
main wheels no longer ship `cv2.HOGDescriptor`. `tests/baselines/test_hog.py` checks equality with skimage.
"""

from __future__ import annotations

import cv2
import numpy as np

N_BINS = 9
EPS = 1e-5  # skimage's L2-Hys epsilon


def cell_maps(gray: np.ndarray, cell: int) -> np.ndarray:
    """Per-pixel cell histograms of one image (H, W) float -> (H, W, 9) float32.

    Entry [r, c] is the histogram of the cell whose top-left pixel is (r - cell//2, c - cell//2).
    """
    g = np.asarray(gray, dtype=np.float64)
    g_row = np.zeros_like(g)
    g_col = np.zeros_like(g)
    g_row[1:-1] = g[2:] - g[:-2]
    g_col[:, 1:-1] = g[:, 2:] - g[:, :-2]
    magnitude = np.hypot(g_col, g_row)
    orientation = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    bins = np.minimum((orientation / (180 / N_BINS)).astype(np.int64), N_BINS - 1)
    channels = np.zeros((*g.shape, N_BINS), dtype=np.float32)
    np.put_along_axis(channels, bins[..., None], magnitude[..., None].astype(np.float32), axis=-1)
    # Mean over rows r - cell//2 .. r + cell//2 - 1 (OpenCV's centred anchor for even kernels), zero outside.
    return cv2.boxFilter(channels, -1, (cell, cell), normalize=True, borderType=cv2.BORDER_CONSTANT).reshape(
        *g.shape, N_BINS)


def block_descriptors(maps: np.ndarray, points: np.ndarray, cell: int) -> np.ndarray:
    """L2-Hys 2x2-cell block descriptors centred at points.

    maps (H, W, 9) from `cell_maps`; points (L, 2) (x, y) -> (L, 36). Cells outside the image count as empty.
    """
    h, w = maps.shape[:2]
    half = cell // 2
    centre = np.rint(points).astype(np.int64)  # (L, 2)
    # The four cells' centres in skimage's block order (row-major over cells: top-left, top-right, ...).
    offsets = np.array([[-half, -half], [half, -half], [-half, half], [half, half]])  # (x, y)
    pos = centre[:, None, :] + offsets[None]  # (L, 4, 2)
    inside = (pos[..., 0] >= 0) & (pos[..., 0] < w) & (pos[..., 1] >= 0) & (pos[..., 1] < h)
    hist = maps[np.clip(pos[..., 1], 0, h - 1), np.clip(pos[..., 0], 0, w - 1)]  # (L, 4, 9)
    hist = np.where(inside[..., None], hist, 0.0).reshape(len(points), 4 * N_BINS)
    return l2_hys(hist)


def l2_hys(blocks: np.ndarray) -> np.ndarray:
    """L2-Hys normalisation of block vectors (..., D), as skimage.feature.hog."""
    out = blocks / np.sqrt(np.sum(blocks**2, axis=-1, keepdims=True) + EPS**2)
    out = np.minimum(out, 0.2)
    return out / np.sqrt(np.sum(out**2, axis=-1, keepdims=True) + EPS**2)


def to_gray(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, H, W) float64 in [0, 1] (ITU-R 601 luma, as skimage.color.rgb2gray)."""
    return np.asarray(images, dtype=np.float64) @ np.array([0.2125, 0.7154, 0.0721]) / 255.0
