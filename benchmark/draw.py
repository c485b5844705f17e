"""Drawing landmarks, boxes, labels and error traces onto RGB frames with OpenCV, shared by `redbench track`'s
overlay video and `redbench render`'s panels.

Everything is drawn with integer coordinates and OpenCV's Hershey fonts (no system fonts, no anti-aliasing),
so the same inputs give the same pixels on every machine and every run.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

GT = (40, 230, 60)  # ground truth: green, as in the contact sheets (datasets/preview.py)
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (110, 110, 110)
# one colour a method, in the order the methods are named (RGB; chosen to differ from GT's green and each other)
METHOD_COLOURS = ((255, 80, 60), (70, 150, 255), (255, 200, 0), (220, 90, 255), (0, 220, 220), (255, 140, 180))


def method_colour(k: int) -> tuple[int, int, int]:
    return METHOD_COLOURS[k % len(METHOD_COLOURS)]


def _px(v: float, zoom: float) -> int:
    """A 0-based pixel-centre coordinate in the image scaled by `zoom`, rounded to the nearest pixel."""
    return int(np.floor((v + 0.5) * zoom))


def draw_points(img: np.ndarray, points: np.ndarray, colour: Sequence[int], zoom: float = 1.0,
                radius: int = 1) -> None:
    """Landmarks (L, 2), 0-based coordinates of the unscaled image, as filled dots (in place); NaN skipped."""
    for x, y in np.asarray(points, dtype=np.float64):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, (_px(x, zoom), _px(y, zoom)), radius, tuple(int(c) for c in colour), -1)


def draw_box(img: np.ndarray, box: np.ndarray, colour: Sequence[int], zoom: float = 1.0) -> None:
    """A box (x0, y0, x1, y1) of pixel edges, 1 px wide (in place); a NaN box is skipped."""
    box = np.asarray(box, dtype=np.float64)
    if np.isfinite(box).all():
        p0 = (int(np.floor(box[0] * zoom)), int(np.floor(box[1] * zoom)))
        p1 = (int(np.floor(box[2] * zoom)), int(np.floor(box[3] * zoom)))
        cv2.rectangle(img, p0, p1, tuple(int(c) for c in colour), 1)


def put_label(img: np.ndarray, text: str, origin: tuple[int, int], colour: Sequence[int] = WHITE,
              scale: float = 0.4, bar: bool = True) -> None:
    """Text with its baseline at `origin` (in place), on a black bar across the image when `bar`."""
    if bar:
        (_, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(img, (0, origin[1] - h - 2), (img.shape[1], origin[1] + base), BLACK, -1)
    cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, tuple(int(c) for c in colour), 1, cv2.LINE_8)


def error_trace(values: np.ndarray, colours: Sequence[Sequence[int]], labels: Sequence[str], width: int,
                height: int, current: int, y_max: float | None = None, title: str = "") -> np.ndarray:
    """A strip chart (height, width, 3) uint8 of per-frame values (M, T), one line per method in its colour,
    a cursor at frame `current`, and the y range [0, y_max] (default: the largest finite value) written.

    NaN values leave gaps. Deterministic: integer polylines, no anti-aliasing.
    """
    values = np.asarray(values, dtype=np.float64)
    m, t = values.shape
    img = np.full((height, width, 3), 255, np.uint8)
    top, bottom, left, right = 14, height - 4, 34, width - 6
    finite = values[np.isfinite(values)]
    y_max = float(y_max if y_max is not None else (finite.max() if finite.size else 1.0)) or 1.0

    def xy(i: int, v: float) -> tuple[int, int]:
        x = left + (right - left) * (i / max(t - 1, 1))
        y = bottom - (bottom - top) * min(max(v / y_max, 0.0), 1.0)
        return int(round(x)), int(round(y))

    cv2.rectangle(img, (left, top), (right, bottom), GREY, 1)
    cx = xy(current, 0.0)[0]
    cv2.line(img, (cx, top), (cx, bottom), GREY, 1)
    for k in range(m):
        run: list[tuple[int, int]] = []
        for i in range(t):
            if np.isfinite(values[k, i]):
                run.append(xy(i, values[k, i]))
            if run and (not np.isfinite(values[k, i]) or i == t - 1):
                cv2.polylines(img, [np.array(run, np.int32)], False, tuple(int(c) for c in colours[k]), 1)
                run = []
        if 0 <= current < t and np.isfinite(values[k, current]):
            cv2.circle(img, xy(current, values[k, current]), 2, tuple(int(c) for c in colours[k]), -1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, f"{y_max:.3g}", (2, top + 8), font, 0.3, BLACK, 1, cv2.LINE_8)
    cv2.putText(img, "0", (2, bottom), font, 0.3, BLACK, 1, cv2.LINE_8)
    x = left
    for k, label in enumerate(labels):
        cv2.putText(img, label, (x, 10), font, 0.33, tuple(int(c) for c in colours[k]), 1, cv2.LINE_8)
        x += cv2.getTextSize(label, font, 0.33, 1)[0][0] + 10
    if title:
        tw = cv2.getTextSize(title, font, 0.33, 1)[0][0]
        cv2.putText(img, title, (max(x, right - tw), 10), font, 0.33, BLACK, 1, cv2.LINE_8)
    return img
