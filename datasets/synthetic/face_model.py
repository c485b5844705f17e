"""The 3D face model: identity shape, auxiliary head points, surface normals, pose and projection.

Frame of the model (as redbench.datasets.mean_shape_3d): x right, y down, z toward the camera, mm. Pose is
(yaw, pitch, roll) in degrees with R = Rz(roll) @ Rx(pitch) @ Ry(yaw) applied to model points:
yaw > 0 turns the nose toward the image right, pitch > 0 tilts the nose up, roll > 0 turns the face clockwise
on screen (the image's y axis points down).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redbench.datasets.mean_shape_3d import jaw_contour, uncentred_shape_3d
# One pose convention for the generator and the PnP estimator that reads its output back.
from redbench.datasets.pose import rotation  # noqa: F401  (re-exported: scene.py, tests)
from redbench.datasets.synthetic.identity import Identity

# Centre and radii (mm, uncentred frame) of the ellipsoid that stands in for the head: it gives the surface
# normals used for shading and self-occlusion, and the skull/hair and ear points.
HEAD_CENTRE = np.array([0.0, 20.0, -75.0])
HEAD_RADII = np.array([76.0, 112.0, 92.0])
# A point counts as self-occluded once its normal turns this far past the silhouette (n . v below it):
# near-silhouette points (the jaw contour of a frontal face) stay visible.
SELF_OCCLUSION_COS = -0.2
CAMERA_DISTANCE_MM = 700.0  # mild perspective, like a webcam at arm's length
NOSE = tuple(range(27, 36))


@dataclass(frozen=True)
class HeadModel:
    """One identity's neutral 3D geometry (centred frame, mm)."""

    landmarks: np.ndarray  # (68, 3)
    normals: np.ndarray  # (68, 3) unit outward normals
    forehead: np.ndarray  # (F, 3) arc from temple to temple over the hairline
    skull: np.ndarray  # (S, 3) points on the upper/back head ellipsoid (hair cap)
    ears: np.ndarray  # (2, 3) ear centres, subject's right then left
    ear_normals: np.ndarray  # (2, 3)


def ellipsoid_normals(points: np.ndarray) -> np.ndarray:
    """Outward normals (N, 3) of the head ellipsoid's level set through each point (uncentred frame)."""
    g = (points - HEAD_CENTRE) / HEAD_RADII**2
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def _nose_normals() -> np.ndarray:
    # The nose sticks out of the ellipsoid: its own normals, bridge forward, alae sideways-forward.
    n = np.array([[0, -0.3, 1], [0, -0.1, 1], [0, 0, 1], [0, 0.3, 1],
                  [-0.75, 0.3, 0.6], [-0.35, 0.6, 0.7], [0, 0.8, 0.6], [0.35, 0.6, 0.7], [0.75, 0.3, 0.6]], float)
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def _skull_points(n_az: int = 16, n_el: int = 6) -> np.ndarray:
    """Points on the back/upper half of the head ellipsoid (above the ears), uncentred frame."""
    az = np.linspace(0, 2 * np.pi, n_az, endpoint=False)
    el = np.linspace(0.05, 1.45, n_el)  # elevation above the ear plane
    a, e = np.meshgrid(az, el)
    x = np.cos(e) * np.cos(a)
    z = np.cos(e) * np.sin(a)
    y = -np.sin(e)
    unit = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
    return HEAD_CENTRE + unit * HEAD_RADII * [1.04, 1.0, 1.02] + [0, -12, 0]


def head_model(identity: Identity) -> HeadModel:
    """The identity's neutral 3D landmarks and auxiliary points."""
    jaw = jaw_contour(half_width=68.0 * identity.face_width, depth=103.0 * identity.face_length,
                      squareness=identity.jaw_squareness)
    p = uncentred_shape_3d(jaw).copy()  # (68, 3)
    p[:, 0] *= identity.face_width
    p[0:17, 0] /= identity.face_width  # the jaw already has its width
    side = np.sign(p[:, 0])
    eyes = list(range(36, 48)) + list(range(17, 27))
    p[eyes, 0] += side[eyes] * identity.eye_spacing
    p[31:36, 0] *= identity.nose_width
    p[28:36, 1] = -8.0 + (p[28:36, 1] + 8.0) * identity.nose_length  # nose hangs from the nasion
    p[48:68, 0] *= identity.mouth_width
    p[48:68, 1] += (identity.nose_length - 1.0) * 45.0  # the mouth follows the nose base
    p[17:27, 1] -= identity.brow_height
    normals = ellipsoid_normals(p)
    normals[27:36] = _nose_normals()
    w = identity.face_width
    t = np.linspace(np.pi, 0, 11)
    forehead = np.stack([-66 * w * np.cos(t), -22 - identity.brow_height - 52 * np.sin(t),
                         -40 + 28 * np.sin(t) ** 0.5 - 20 * (1 - np.sin(t))], axis=1)
    ears = np.array([[-73 * w, 18, -78], [73 * w, 18, -78]], float)
    ear_normals = np.array([[-0.95, 0, 0.1], [0.95, 0, 0.1]]) / np.hypot(0.95, 0.1)
    skull = _skull_points() * [w, 1, 1]
    # Shift by the mean shape's centroid so identity shapes live in mean_shape_3d()'s centred frame.
    c = uncentred_shape_3d().mean(axis=0)
    return HeadModel(landmarks=p - c, normals=normals, forehead=forehead - c, skull=skull - c, ears=ears - c,
                     ear_normals=ear_normals)


@dataclass(frozen=True)
class Camera:
    """Places the head: rotation R, image position of the model origin (px) and px per mm at that depth."""

    R: np.ndarray  # (3, 3)
    centre: np.ndarray  # (2,) px
    scale: float  # px per mm at the model origin
    distance: float = CAMERA_DISTANCE_MM

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return points @ self.R.T  # (N, 3)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Perspective projection (N, 2) in 0-based pixels of model points (N, 3)."""
        q = self.to_camera(points)
        s = self.scale * self.distance / (self.distance - q[:, 2])
        return self.centre + q[:, :2] * s[:, None]

    def facing(self, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Cosine (N,) between each rotated normal and the direction from the point to the camera."""
        q = self.to_camera(points)
        view = np.array([0.0, 0.0, self.distance]) - q
        view /= np.linalg.norm(view, axis=1, keepdims=True)
        return np.einsum("ij,ij->i", normals @ self.R.T, view)


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points (N, 2) strictly inside a convex polygon (K, 2) given in either orientation."""
    edges = np.roll(poly, -1, axis=0) - poly  # (K, 2)
    rel = pts[:, None, :] - poly[None]  # (N, K, 2)
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]  # (N, K)
    return (cross > 1e-9).all(axis=1) | (cross < -1e-9).all(axis=1)


def self_occlusion(cam: Camera, landmarks: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(68,) bool: points whose surface faces away from the camera, or that the nose hides."""
    hidden = cam.facing(landmarks, normals) < SELF_OCCLUSION_COS
    xy = cam.project(landmarks)
    depth = cam.to_camera(landmarks)[:, 2]
    hull = cv2.convexHull(xy[list(NOSE)].astype(np.float32)).reshape(-1, 2).astype(np.float64)
    if len(hull) >= 3:
        behind = depth < depth[list(NOSE)].min()
        covered = _inside(hull, xy) & behind
        covered[list(NOSE)] = False
        hidden |= covered
    return hidden
