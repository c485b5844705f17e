"""Head pose (yaw, pitch, roll) from 2D landmarks and the 3D mean shape, by cv2.solvePnP.

Convention (the synthetic generator's, redbench.datasets.synthetic.face_model): model frame x right, y down,
z toward the camera; R = Rz(roll) Rx(pitch) Ry(yaw) applied to model points; yaw > 0 turns the nose toward
the image right, pitch > 0 tilts it up, roll > 0 turns the face clockwise on screen. That frame is
left-handed; OpenCV's camera frame (z away from the camera) is its mirror in z, F = diag(1, 1, -1), so a
model rotation R appears to OpenCV as F R F acting on the model points mirrored by F.

The camera is unknown for real videos: focal length `focal` x max(W, H) px (default 1.0, a ~53 degree
field of view) and the principal point at the image centre. The estimate fits the mean shape, so identity
and expression add error; on synthetic data preprocess reports it against the generator's true pose.
"""

from __future__ import annotations

import cv2
import numpy as np

_F = np.diag([1.0, 1.0, -1.0])


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """R (3, 3) = Rz(roll) Rx(pitch) Ry(yaw), degrees."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def euler_from_rotation(R: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees of R = Rz(roll) Rx(pitch) Ry(yaw).

    The bottom row of Rz Rx Ry is (-cos p sin y, sin p, cos p cos y) and column 1 is (-sin r cos p,
    cos r cos p, sin p), which give the three angles.
    """
    pitch = np.arcsin(np.clip(R[2, 1], -1.0, 1.0))
    yaw = np.arctan2(-R[2, 0], R[2, 2])
    roll = np.arctan2(-R[0, 1], R[1, 1])
    return np.degrees([yaw, pitch, roll])


def camera_matrix(width: int, height: int, focal: float = 1.0) -> np.ndarray:
    """Pinhole camera with focal length `focal` x max(W, H) px and the principal point at the image centre."""
    f = focal * float(max(width, height))
    return np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])


class PnPPoseEstimator:
    """Pose of a face from its 68 landmarks (0-based pixels in the original image of size W x H)."""

    def __init__(self, shape_3d: np.ndarray, focal: float = 1.0):
        assert shape_3d.shape == (68, 3), shape_3d.shape
        self.focal = focal
        self._object = np.ascontiguousarray(shape_3d @ _F, dtype=np.float64)  # right-handed, z into the head

    def __call__(self, landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
        """(yaw, pitch, roll) degrees, float64 (3,); NaN if PnP fails."""
        image_points = np.ascontiguousarray(landmarks, dtype=np.float64).reshape(68, 1, 2)
        K = camera_matrix(width, height, self.focal)
        # Start from a frontal face in front of the camera: the iterative solver then stays on the
        # physically sensible branch (face toward the camera) instead of a mirrored solution.
        scale = np.ptp(landmarks[:, 0]) / max(np.ptp(self._object[:, 0]), 1e-6)
        centre = landmarks.mean(axis=0)
        z = K[0, 0] / max(scale, 1e-6)
        tvec = np.array([(centre[0] - K[0, 2]) * z / K[0, 0], (centre[1] - K[1, 2]) * z / K[1, 1], z])
        ok, rvec, tvec = cv2.solvePnP(self._object, image_points, K, None, np.zeros(3), tvec.reshape(3, 1),
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            return np.full(3, np.nan)
        R_cv, _ = cv2.Rodrigues(rvec)
        return euler_from_rotation(_F @ R_cv @ _F)


def yaw_error_stats(estimated: np.ndarray, true: np.ndarray) -> dict[str, float | int | None]:
    """Median and 90th percentile of |yaw error| in degrees over frames where both are finite (wrapped)."""
    diff = (np.asarray(estimated, dtype=np.float64) - np.asarray(true, dtype=np.float64) + 180.0) % 360.0 - 180.0
    err = np.abs(diff[np.isfinite(diff)])
    if not len(err):
        return {"n": 0, "median": None, "p90": None}  # None, not NaN: the manifest is strict JSON
    return {"n": int(len(err)), "median": float(np.median(err)), "p90": float(np.percentile(err, 90))}
