"""Draw one synthetic face (numpy + OpenCV, no GPU) onto a background frame.

Painter's order: clothes and neck, hair behind the head, ears, the shaded skin region (convex hull of the
projected jaw, forehead and nose), far-side features, the nose, near-side features, fringe, glasses. The
landmarks are the perspective projections of the 3D model points; self-occlusion comes from the 3D model
(surface normal facing away from the camera, or hidden behind the nose).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redbench.datasets.synthetic import features
from redbench.datasets.synthetic.draw import blend, blend_poly, colour, ellipse, fill_poly, poly_mask, roi_of
from redbench.datasets.synthetic.face_model import Camera, HeadModel, self_occlusion
from redbench.datasets.synthetic.identity import Identity

AMBIENT = 0.5
DIFFUSE = 0.55


@dataclass(frozen=True)
class FaceRender:
    landmarks: np.ndarray  # (68, 2) float64 px, projected 3D points (the ground truth)
    self_occluded: np.ndarray  # (68,) bool
    face_polygon: np.ndarray  # (K, 2) skin silhouette (convex hull)


class _Shading:
    """Lambertian shading of an ellipse fitted to the projected head, lit from `light` (camera frame)."""

    def __init__(self, centre: np.ndarray, radii: np.ndarray, light: np.ndarray):
        self.centre, self.radii, self.light = centre, np.maximum(radii, 1.0), light

    def field(self, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        u = (np.arange(x0, x1, dtype=np.float32) - self.centre[0]) / self.radii[0]
        v = (np.arange(y0, y1, dtype=np.float32) - self.centre[1]) / self.radii[1]
        uu, vv = np.meshgrid(u, v)
        nz = np.sqrt(np.clip(1.0 - uu * uu - vv * vv, 0.0, 1.0))
        lam = np.clip(uu * self.light[0] + vv * self.light[1] + nz * self.light[2], 0.0, 1.0)
        return AMBIENT + DIFFUSE * lam  # (h, w)

    def __call__(self, p: np.ndarray) -> float:
        u, v = (np.asarray(p) - self.centre) / self.radii
        nz = np.sqrt(max(0.0, 1.0 - u * u - v * v))
        return float(AMBIENT + DIFFUSE * np.clip(u * self.light[0] + v * self.light[1] + nz * self.light[2], 0, 1))


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)


def _draw_body(img: np.ndarray, xy: np.ndarray, ident: Identity, px_mm: float) -> None:
    h = img.shape[0]
    chin = xy[8]
    neck_top = 0.5 * (xy[4] + xy[12])
    half = 48.0 * px_mm
    shoulder_y = chin[1] + 55 * px_mm
    ellipse(img, np.array([neck_top[0], shoulder_y + 70 * px_mm]), (190 * px_mm, 85 * px_mm), 0.0,
            colour(ident.clothes))
    neck = np.array([[neck_top[0] - half, neck_top[1]], [neck_top[0] + half, neck_top[1]],
                     [neck_top[0] + half * 1.05, max(shoulder_y + 10 * px_mm, h)],
                     [neck_top[0] - half * 1.05, max(shoulder_y + 10 * px_mm, h)]])
    fill_poly(img, neck, colour(np.array(ident.skin) * 0.78))
    # The jaw's shadow on the neck.
    shadow = np.concatenate([xy[3:14], xy[13:2:-1] + np.array([0.0, 14.0 * px_mm])])
    blend_poly(img, shadow, colour(np.array(ident.skin) * 0.45), 0.55)


def _draw_hair_back(img: np.ndarray, head: HeadModel, cam: Camera, ident: Identity, px_mm: float) -> None:
    skull = cam.project(head.skull)
    if ident.hair_style == "bald":
        fill_poly(img, _hull(skull), colour(np.array(ident.skin) * 0.9))
        return
    pts = skull
    if ident.hair_style == "long":  # falls behind the neck to the shoulders
        low = head.skull[head.skull[:, 1] > head.skull[:, 1].max() - 5].copy()
        low[:, 1] += 150.0
        low[:, 0] *= 1.1
        pts = np.concatenate([skull, cam.project(low)])
    fill_poly(img, _hull(pts), colour(ident.hair))


def _draw_ears(img: np.ndarray, head: HeadModel, cam: Camera, ident: Identity, px_mm: float,
               shade: _Shading) -> None:
    facing = cam.facing(head.ears, head.ear_normals)
    xy = cam.project(head.ears)
    roll = float(np.degrees(np.arctan2(cam.R[1, 0], cam.R[0, 0])))
    for k in range(2):
        if facing[k] < -0.55:
            continue
        width = 9.0 * px_mm * (0.45 + 0.55 * min(1.0, abs(facing[k]) + 0.2))
        g = shade(xy[k])
        ellipse(img, xy[k], (width, 29.0 * px_mm), roll, colour(np.array(ident.skin) * 0.86, g))
        ellipse(img, xy[k], (width * 0.5, 20.0 * px_mm), roll, colour(np.array(ident.skin) * 0.66, g))


def _draw_skin(img: np.ndarray, poly: np.ndarray, ident: Identity, shade: _Shading) -> None:
    box = roi_of(poly, img.shape, 1.0)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return
    a = poly_mask((y1 - y0, x1 - x0), poly, (x0, y0))
    layer = shade.field(box)[..., None] * np.asarray(ident.skin, np.float32)
    blend(img, box, layer, a)


def _draw_fringe(img: np.ndarray, head: HeadModel, cam: Camera, ident: Identity) -> None:
    top = head.forehead[1:-1]
    bottom = top.copy()
    bottom[:, 1] += 26.0 * np.sin(np.linspace(0.3, np.pi - 0.3, len(top)))
    bottom[:, 2] += 4.0
    poly = np.concatenate([cam.project(top), cam.project(bottom[::-1])])
    blend_poly(img, poly, colour(ident.hair), 0.95)


def _glasses(head_landmarks: np.ndarray, cam: Camera, vis: np.ndarray, ears: np.ndarray):
    rims: list[np.ndarray | None] = []
    temples = []
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    for idx, ear in ((features.RIGHT_EYE, ears[0]), (features.LEFT_EYE, ears[1])):
        c = head_landmarks[list(idx)].mean(axis=0) + [0, 1.0, 12.0]
        rim3 = c + np.stack([19 * np.cos(a), 14 * np.sin(a), np.zeros_like(a)], axis=1)
        if vis[list(idx)].mean() < 0.5:
            rims.append(None)
            continue
        rims.append(cam.project(rim3))
        outer = head_landmarks[idx[0]] if idx[0] == 36 else head_landmarks[idx[3]]
        start = c + [np.sign(outer[0]) * 19, 0, 0]
        if cam.facing(ear[None], np.array([[np.sign(outer[0]), 0, 0]]))[0] > -0.1:
            temples.append((cam.project(start[None])[0], cam.project(ear[None] + [0, -10, 0])[0]))
    return rims, temples


def render_face(img: np.ndarray, head: HeadModel, ident: Identity, landmarks3d: np.ndarray, cam: Camera,
                light: np.ndarray, yaw: float, gaze: np.ndarray) -> FaceRender:
    """Draw the face in place on img (H, W, 3) uint8 RGB; landmarks3d (68, 3) are the expressed model points."""
    xy = cam.project(landmarks3d)  # (68, 2)
    hidden = self_occlusion(cam, landmarks3d, head.normals)
    vis = ~hidden
    px_mm = cam.scale
    forehead = cam.project(head.forehead)
    skin_poly = _hull(np.concatenate([xy[0:17], forehead, xy[27:36]]))
    lo, hi = skin_poly.min(axis=0), skin_poly.max(axis=0)
    shade = _Shading((lo + hi) / 2, (hi - lo) / 2 * 1.08, light)

    _draw_body(img, xy, ident, px_mm)
    _draw_hair_back(img, head, cam, ident, px_mm)
    _draw_ears(img, head, cam, ident, px_mm, shade)
    _draw_skin(img, skin_poly, ident, shade)
    if ident.beard:
        features.draw_beard(img, xy, ident, px_mm, shade)
    # Far side first so that the nose can hide it at large yaw.
    eyes = [features.RIGHT_EYE, features.LEFT_EYE]
    if yaw > 0:
        eyes.reverse()
    features.draw_eye(img, xy, vis, eyes[0], ident, px_mm, shade, gaze)
    features.draw_nose(img, xy, vis, ident, px_mm, shade, yaw, float(light[0]))
    features.draw_eye(img, xy, vis, eyes[1], ident, px_mm, shade, gaze)
    features.draw_brows(img, xy, vis, ident, px_mm, shade)
    features.draw_mouth(img, xy, vis, ident, px_mm, shade)
    if ident.hair_style == "fringe":
        _draw_fringe(img, head, cam, ident)
    if ident.glasses:
        rims, temples = _glasses(landmarks3d, cam, vis, head.ears)
        features.draw_glasses(img, rims, temples, px_mm)
    return FaceRender(landmarks=xy, self_occluded=hidden, face_polygon=skin_poly)
