"""A 3D mean shape of the 68 iBUG / 300-W landmarks, in millimetres.

Used for PnP head-pose estimation (preprocessing) and as the base of the synthetic face model.

Frame: x to the image right (the subject's left), y down, z toward the camera; centred on the centroid of
the 68 points. A frontal face (yaw = pitch = roll = 0) seen by a camera on the +z axis projects with the
subject's right eye (points 36-41) on the image left, as in 300-W.

The coordinates are built by hand from adult facial proportions (Farkas, "Anthropometry of the Head and Face",
2nd ed. 1994, adult means rounded): biocular width ex-ex ~ 90 mm, intercanthal width en-en ~ 30 mm (eye fissure
~ 30 mm), nose height n-sn ~ 49 mm, nose width al-al ~ 34 mm, nose tip protrusion ~ 20-30 mm ahead of the
alar base, mouth width ch-ch ~ 50 mm, upper lip sn-sto ~ 21 mm, morphological face height n-gn ~ 116 mm,
face width at the jaw contour's top (near the tragus) ~ 136 mm. Depths follow the same source's profile
relations (eyes set ~ 10-25 mm behind the nasion, mouth corners ~ 15 mm behind the lip centre, jaw contour near
the ear ~ 70 mm behind the chin). They agree in layout with the published 68-point 3D mean models used for
PnP in OpenFace-era tools to within a few mm after scaling; they are not copied from any of them.
"""

from __future__ import annotations

import numpy as np

# Jaw contour (points 0-16): a superellipse arc from the ear-level top (y = JAW_TOP) round the chin.
JAW_TOP_Y = 5.0
JAW_HALF_WIDTH = 68.0
JAW_DEPTH_Y = 103.0  # chin y - JAW_TOP_Y: the chin sits ~ 116 mm below the nasion (n-gn)
JAW_SQUARENESS = 2.6  # superellipse exponent: 2 = ellipse, larger = squarer jaw


def jaw_contour(half_width: float = JAW_HALF_WIDTH, depth: float = JAW_DEPTH_Y, top: float = JAW_TOP_Y,
                squareness: float = JAW_SQUARENESS, chin_z: float = 4.0, ear_z: float = -66.0) -> np.ndarray:
    """The 17 jaw points (17, 3): a superellipse in x-y, curving back in z toward the ears."""
    t = np.linspace(0.0, np.pi, 17)  # 0 = subject's right (image left), pi/2 = chin
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / squareness
    x = -half_width * np.sign(c) * np.abs(c) ** e
    y = top + depth * np.abs(s) ** e
    z = chin_z + (ear_z - chin_z) * np.abs(c) ** 1.3
    return np.stack([x, y, z], axis=1)


def _mirror(points: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    return [(-x, y, z) for x, y, z in points]


def frontal_points() -> np.ndarray:
    """Hand-placed points 17-67 (51, 3), origin at the eye line (y = 0) and the inner eye corners (z = 0)."""
    right_brow = [(-52, -14, -14), (-42, -20, -4), (-31, -22, 2), (-20, -21, 5), (-9, -18, 6)]  # 17-21
    left_brow = _mirror(right_brow[::-1])  # 22-26, inner to outer
    nose = [(0, -8, 8), (0, 5, 14), (0, 18, 21), (0, 31, 30),  # 27-30 bridge: nasion to tip
            (-14, 37, 10), (-7, 40, 15), (0, 41, 17), (7, 40, 15), (14, 37, 10)]  # 31-35 base
    right_eye = [(-45, -1, -12), (-37, -5, -5), (-24, -5.5, -1), (-15, 0.5, 0),  # 36-39
                 (-24, 3.5, -2), (-37, 3.0, -6)]  # 40-41 lower lid
    left_eye = [(15, 0.5, 0), (24, -5.5, -1), (37, -5, -5), (45, -1, -12),  # 42-45
                (37, 3.0, -6), (24, 3.5, -2)]  # 46-47
    outer_mouth = [(-25, 62, -2), (-15, 56, 8), (-6, 53, 13), (0, 54, 14), (6, 53, 13), (15, 56, 8),  # 48-53
                   (25, 62, -2), (15, 69, 6), (6, 72, 11), (0, 73, 12), (-6, 72, 11), (-15, 69, 6)]  # 54-59
    inner_mouth = [(-21, 62, -1), (-7, 61.5, 7), (0, 61.5, 9), (7, 61.5, 7),  # 60-63
                   (21, 62, -1), (7, 62.5, 7), (0, 62.5, 9), (-7, 62.5, 7)]  # 64-67
    pts = right_brow + left_brow + nose + right_eye + left_eye + outer_mouth + inner_mouth
    return np.array(pts, dtype=np.float64)


def uncentred_shape_3d(jaw: np.ndarray | None = None) -> np.ndarray:
    """The 68 points (68, 3) with the origin at the eye line and the inner eye corners' depth.

    `jaw` (17, 3) replaces the mean jaw contour (the synthetic face model varies it per identity).
    """
    jaw = jaw_contour() if jaw is None else jaw
    shape = np.concatenate([jaw, frontal_points()], axis=0)
    assert shape.shape == (68, 3)
    return shape


def mean_shape_3d() -> np.ndarray:
    """The mean 68-point shape (68, 3) in mm: x right, y down, z toward the camera, centroid at the origin."""
    shape = uncentred_shape_3d()
    return shape - shape.mean(axis=0)
