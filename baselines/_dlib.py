"""Running a dlib shape predictor (ERT) on context crops through a box adapter.

dlib takes the image plus a rectangle and returns integer pixel positions, so the region around the rectangle is
first resampled to a fixed size large enough that the rounding (+-0.5 px there) is small against the face.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from redbench.baselines._hog import to_gray
from redbench.methods.protocol import StaticMethod
from redbench.datasets.input_crop import crop_affine, to_crop, to_input
from redbench.datasets.geometry import warp

RectFn = Callable[[np.ndarray], np.ndarray]  # face box (4,) -> the rectangle dlib expects (4,), crop coords


def resample(crops: np.ndarray, rects: np.ndarray, region_scale: float, size: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gray inputs (N,size,size) uint8 of each rect's scaled square region, the affines (N,2,3) crop->input and
    the rects in input coords (N,4)."""
    affines = np.stack([crop_affine(r, region_scale, size) for r in rects])
    gray = np.clip(np.rint(to_gray(crops) * 255), 0, 255).astype(np.uint8)  # (N, S, S)
    images = np.stack([warp(g, a, size) for g, a in zip(gray, affines)])
    rects_in = to_input(np.asarray(rects, np.float64).reshape(-1, 2, 2), affines).reshape(-1, 4)
    return images, affines, rects_in


def dlib_rect(r: np.ndarray):
    import dlib

    return dlib.rectangle(*(int(round(float(v))) for v in r))


def dlib_rect_of_edges(e: np.ndarray):
    """dlib's rectangle for a box of pixel edges: its right/bottom are inclusive pixel indices."""
    return dlib_rect(np.asarray(e, np.float64) + [0.5, 0.5, -0.5, -0.5])


def shape_points(predictor, image: np.ndarray, rect, name: str) -> np.ndarray:
    """The predictor's 68 points (68, 2) on `image` (H, W) uint8 inside a dlib rectangle."""
    shape = predictor(image, rect)
    if shape.num_parts != 68:
        raise ValueError(f"{name}: the dlib model gives {shape.num_parts} points, expected 68")
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


class DlibShapeMethod(StaticMethod):
    """A dlib shape predictor behind a box adapter: rect_of_box maps our face box to the rectangle it expects."""

    def __init__(self, name: str, predictor, rect_of_box: RectFn, region_scale: float, size: int):
        self.name, self.predictor, self.rect_of_box = name, predictor, rect_of_box
        self.region_scale, self.size = region_scale, size

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        rects = np.stack([self.rect_of_box(b) for b in boxes])
        images, affines, rects_in = resample(crops, rects, self.region_scale, self.size)
        out = np.empty((len(images), 68, 2), dtype=np.float64)
        for i, (img, r) in enumerate(zip(images, rects_in)):
            out[i] = shape_points(self.predictor, img, dlib_rect(r), self.name)
        return to_crop(out, affines)
