"""Cluttered backgrounds: gradients, low-frequency texture, stripes and random shapes (one per video)."""

from __future__ import annotations

import cv2
import numpy as np


def _rand_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    return tuple(float(v) for v in rng.uniform(20, 235, 3))  # type: ignore[return-value]


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A cluttered RGB background (H, W, 3) uint8."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    t = (np.cos(ang) * xx / width + np.sin(ang) * yy / height)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    c0, c1 = np.array(_rand_colour(rng), np.float32), np.array(_rand_colour(rng), np.float32)
    img = c0 + t[..., None] * (c1 - c0)  # (H, W, 3)
    # Low-frequency texture (walls, foliage), then an optional stripe pattern (blinds, shelves).
    small = rng.normal(0, 1, (max(2, height // 24), max(2, width // 24), 3)).astype(np.float32)
    img += 22 * cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 1, (height // 3 + 1, width // 3 + 1, 1)).astype(np.float32)
    img += 8 * cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    if rng.random() < 0.5:
        period = rng.uniform(6, 24)
        phase = np.cos(rng.uniform(0, np.pi)) * xx + np.sin(rng.uniform(0, np.pi)) * yy
        img += rng.uniform(8, 25) * np.sign(np.sin(2 * np.pi * phase / period))[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 12))):
        kind = rng.integers(4)
        c = _rand_colour(rng)
        p = rng.uniform([0, 0], [width, height])
        s = rng.uniform(8, 0.45 * max(width, height))
        if kind == 0:
            q = p + rng.uniform(-s, s, 2)
            cv2.rectangle(img, tuple(int(v) for v in p), tuple(int(v) for v in q), c, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(img, tuple(int(v) for v in p), int(s / 3), c, -1, cv2.LINE_AA)
        elif kind == 2:
            q = p + rng.uniform(-s, s, 2)
            cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q), c, int(rng.integers(1, 6)), cv2.LINE_AA)
        else:
            poly = (p + rng.uniform(-s / 2, s / 2, (int(rng.integers(3, 7)), 2))).astype(np.int32)
            cv2.fillPoly(img, [poly], c, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (3, 3), 0)
