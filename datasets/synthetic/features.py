"""Facial features drawn on the shaded head: eyes, brows, nose, mouth, beard and glasses.

Every function takes the projected landmarks `xy` (68, 2) px, the per-point visibility `vis` (68,) (not
self-occluded) and `px_mm` (pixels per mm at the face), and draws in place on an RGB uint8 image.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from redbench.datasets.synthetic.draw import (blend, blend_poly, blend_polyline, colour, ellipse, fill_poly,
                                              poly_mask, polyline, roi_of)
from redbench.datasets.synthetic.identity import Identity

Shade = Callable[[np.ndarray], float]  # shading factor at an image point

RIGHT_EYE = (36, 37, 38, 39, 40, 41)
LEFT_EYE = (42, 43, 44, 45, 46, 47)


def _visible(vis: np.ndarray, idx: tuple[int, ...], need: float = 0.5) -> bool:
    return bool(vis[list(idx)].mean() >= need)


def draw_eye(img: np.ndarray, xy: np.ndarray, vis: np.ndarray, idx: tuple[int, ...], ident: Identity,
             px_mm: float, shade: Shade, gaze: np.ndarray) -> None:
    if not _visible(vis, idx, 0.6):
        return
    poly = xy[list(idx)]  # (6, 2): corner, upper lid x2, corner, lower lid x2
    g = shade(poly.mean(axis=0))
    centre = poly.mean(axis=0)
    # Socket shadow: a darker band round the eye.
    socket = centre + (poly - centre) * np.array([1.25, 2.0])
    blend_poly(img, socket, colour(np.array(ident.skin) * 0.72, g), 0.45)
    box = roi_of(poly, img.shape, 2.0)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    cover = poly_mask((y1 - y0, x1 - x0), poly, (x0, y0))
    if cover.max() > 0:
        layer = np.empty((y1 - y0, x1 - x0, 3), np.float32)
        layer[:] = colour((232, 226, 218), g)
        width = np.linalg.norm(poly[3] - poly[0])
        iris_c = centre - (x0, y0) + gaze * width * 0.18
        r_iris = 5.6 * px_mm
        ellipse(layer, iris_c, (r_iris * max(0.45, min(1.0, width / (30 * px_mm))), r_iris), 0.0,
                colour(ident.eye, g))
        ellipse(layer, iris_c, (r_iris * 0.42, r_iris * 0.42), 0.0, (12.0, 10.0, 10.0))
        ellipse(layer, iris_c + np.array([-0.35, -0.4]) * r_iris, (0.2 * r_iris, 0.2 * r_iris), 0.0,
                (245.0, 245.0, 245.0))
        blend(img, box, layer, cover)
    lid = colour(np.array(ident.hair) * 0.5 + 10, 1.0)
    polyline(img, poly[[0, 1, 2, 3]], lid, max(1.0, 0.9 * px_mm))
    polyline(img, poly[[3, 4, 5, 0]], colour(np.array(ident.skin) * 0.55, g), max(1.0, 0.4 * px_mm))


def draw_brows(img: np.ndarray, xy: np.ndarray, vis: np.ndarray, ident: Identity, px_mm: float,
               shade: Shade) -> None:
    c = colour(np.array(ident.hair) * 0.85, 1.0)
    for idx, eye in (((17, 18, 19, 20, 21), RIGHT_EYE), ((22, 23, 24, 25, 26), LEFT_EYE)):
        keep = [i for i in idx if vis[i]]
        if len(keep) < 2:
            continue
        t = max(1.0, ident.brow_thickness * px_mm)
        # iBUG annotators mark the brow's upper edge: the stroke hangs below the points, toward the eye.
        d = xy[idx[-1]] - xy[idx[0]]
        down = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9)
        if down @ (xy[list(eye)].mean(axis=0) - xy[list(idx)].mean(axis=0)) < 0:
            down = -down
        pts = xy[keep] + down * (0.45 * t)
        # Thicker at the inner end: draw the inner half twice as a tapered stroke.
        polyline(img, pts, c, t)
        inner = pts[-2:] if idx[0] == 17 else pts[:2]
        polyline(img, inner, c, t * 1.3)


def draw_nose(img: np.ndarray, xy: np.ndarray, vis: np.ndarray, ident: Identity, px_mm: float, shade: Shade,
              yaw: float, light_x: float) -> None:
    skin = np.array(ident.skin, float)
    g = shade(xy[30])
    if abs(yaw) > 22:  # the nose hides what is behind it: fill its silhouette with skin
        hull = cv2.convexHull(xy[27:36].astype(np.float32)).reshape(-1, 2)
        blend_poly(img, hull, colour(skin, g * 1.02), 1.0)
        side = 31 if yaw > 0 else 35  # far-side edge of the nose
        polyline(img, xy[[28, 29, 30, side]], colour(skin * 0.6, g), max(1.0, 0.7 * px_mm))
    # Shadow down the side of the bridge away from the light.
    off = np.array([-np.sign(light_x) * 3.5 * px_mm, 0.0]) if light_x != 0 else np.array([3.5 * px_mm, 0.0])
    bridge = np.stack([xy[27] + off * 0.6, xy[28] + off, xy[29] + off, xy[31 if off[0] < 0 else 35]])
    blend_polyline(img, bridge, colour(skin * 0.6, g), max(1.0, 1.6 * px_mm), 0.45)
    # Alar base line and nostrils.
    if vis[31:36].mean() > 0.4:
        blend_polyline(img, xy[[31, 32, 33, 34, 35]], colour(skin * 0.5, g), max(1.0, 0.6 * px_mm), 0.6)
    for a, b in ((31, 32), (35, 34)):
        if vis[a] and vis[b]:
            c = 0.55 * xy[a] + 0.45 * xy[b] + np.array([0, -0.6 * px_mm])
            d = xy[b] - xy[a]
            ang = np.degrees(np.arctan2(d[1], d[0]))
            ellipse(img, c, (max(0.8, 2.6 * px_mm * np.linalg.norm(d) / (7 * px_mm + 1e-6)), max(0.6, 1.3 * px_mm)),
                    ang, colour(skin * 0.28, g))
    ellipse(img, xy[30] + np.array([0, -1.5 * px_mm]), (2.2 * px_mm, 1.6 * px_mm), 0.0,
            colour(np.minimum(skin * 1.12 + 10, 255), g))


def draw_mouth(img: np.ndarray, xy: np.ndarray, vis: np.ndarray, ident: Identity, px_mm: float,
               shade: Shade) -> None:
    g = shade(xy[62])
    outer = xy[48:60]
    inner = xy[60:68]
    fill_poly(img, outer, colour(ident.lips, g))
    polyline(img, xy[[48, 49, 50, 51, 52, 53, 54]], colour(np.array(ident.lips) * 0.85, g), max(1.0, 0.4 * px_mm))
    opening = np.linalg.norm(xy[66] - xy[62])
    if opening > 0.8:
        box = roi_of(inner, img.shape, 1.0)
        x0, y0, x1, y1 = box
        if x1 > x0 and y1 > y0:
            cover = poly_mask((y1 - y0, x1 - x0), inner, (x0, y0))
            layer = np.empty((y1 - y0, x1 - x0, 3), np.float32)
            layer[:] = colour((70, 22, 28), g)
            down = (xy[66] - xy[62]) / max(opening, 1e-6) * min(0.45 * opening, 3.5 * px_mm)
            teeth = np.concatenate([xy[60:65], xy[64:59:-1] + down]) - (x0, y0)
            fill_poly(layer, teeth, colour((236, 232, 218), g))
            blend(img, box, layer, cover)
    polyline(img, inner[[0, 1, 2, 3, 4]], colour(np.array(ident.lips) * 0.45, g), max(1.0, 0.5 * px_mm))
    if opening > 0.8:
        polyline(img, inner[[4, 5, 6, 7, 0]], colour(np.array(ident.lips) * 0.5, g), max(1.0, 0.4 * px_mm))


def draw_beard(img: np.ndarray, xy: np.ndarray, ident: Identity, px_mm: float, shade: Shade) -> None:
    g = shade(xy[8])
    lower = np.concatenate([xy[3:14], xy[[54, 55, 56, 57, 58, 59, 48]]])
    blend_poly(img, lower, colour(ident.hair, g), 0.85)
    up = np.array([0.0, -5.0 * px_mm])
    moustache = np.concatenate([xy[48:55], xy[54:47:-1] + up])
    blend_poly(img, moustache, colour(ident.hair, g), 0.85)


def draw_glasses(img: np.ndarray, rims: list[np.ndarray | None], temples: list[tuple[np.ndarray, np.ndarray]],
                 px_mm: float) -> None:
    """rims: per eye a closed (K, 2) rim outline or None when hidden; temples: (start, end) arm segments."""
    c = (25.0, 25.0, 30.0)
    t = max(1.0, 0.9 * px_mm)
    for rim in rims:
        if rim is not None:
            blend_poly(img, rim, (200.0, 215.0, 225.0), 0.12)  # a faint lens tint
            polyline(img, rim, c, t, closed=True)
    if rims[0] is not None and rims[1] is not None:
        a = rims[0][np.argmax(rims[0][:, 0])]
        b = rims[1][np.argmin(rims[1][:, 0])]
        polyline(img, np.stack([a, b]), c, t)
    for a, b in temples:
        polyline(img, np.stack([a, b]), c, t)
