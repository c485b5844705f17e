"""dlib's HOG face detector on context crops, and the geometry of its boxes (where it puts the box for a face):
the `detector` box protocol's boxes (redbench.datasets.boxes) and the input dlib's pretrained model expects."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redbench.datasets.geometry import landmark_box


@dataclass(frozen=True)
class DlibBoxModel:
    """Where dlib's HOG detector puts its (square) box for a face, from the face's tight landmark box or from
    its landmarks: what dlib's 68-point model, trained on such boxes, expects as input.

    From the box: centre = box centre + (0, box_dy * h), side = box_side * (w + h) / 2 (yaw moves the
    detector's centre sideways by up to +-0.2 w, which the box alone cannot tell). From landmarks (68, 2):
    centre = their mean + (pts_dx, pts_dy) * r, side = pts_side * r, r = RMS distance of the points to their
    mean (this follows yaw). Defaults: `fit` on the 14 detected faces of the developers' 15 real annotated
    photographs (300-W style, dlib's detector with upsample 1; scripts/bench_real_faces.py reports them
    leave-one-out). On those faces the landmark rule's leave-one-out centre error is 0.04 of the detector's
    side against 0.11 for the box rule.
    """

    box_side: float = 1.080
    box_dy: float = -0.114
    pts_dx: float = -0.009
    pts_dy: float = -0.174
    pts_side: float = 2.812

    @staticmethod
    def fit(detections: np.ndarray, landmarks: np.ndarray) -> "DlibBoxModel":
        """Medians over faces of detector boxes (N, 4, edges) against their landmarks (N, 68, 2)."""
        det, pts = np.asarray(detections, np.float64), np.asarray(landmarks, np.float64)
        box = landmark_box(pts)
        wh = box[:, 2:] - box[:, :2]
        d_centre, d_side = (det[:, :2] + det[:, 2:]) / 2, det[:, 2] - det[:, 0]
        mean, r = _centre_and_radius(pts)
        return DlibBoxModel(
            box_side=float(np.median(d_side / wh.mean(axis=1))),
            box_dy=float(np.median((d_centre[:, 1] - (box[:, 1] + box[:, 3]) / 2) / wh[:, 1])),
            pts_dx=float(np.median((d_centre[:, 0] - mean[:, 0]) / r)),
            pts_dy=float(np.median((d_centre[:, 1] - mean[:, 1]) / r)),
            pts_side=float(np.median(d_side / r)))

    def from_box(self, box: np.ndarray, dx: float = 0.0) -> np.ndarray:
        """The detector-style box (4,) for a tight landmark box (4,), its centre moved by dx * w."""
        x0, y0, x1, y1 = (float(v) for v in box)
        w, h = x1 - x0, y1 - y0
        cx, cy, half = (x0 + x1) / 2 + dx * w, (y0 + y1) / 2 + self.box_dy * h, self.box_side * (w + h) / 4
        return np.array([cx - half, cy - half, cx + half, cy + half])

    def from_points(self, points: np.ndarray) -> np.ndarray:
        """The detector-style box (4,) for landmarks (68, 2)."""
        mean, r = _centre_and_radius(np.asarray(points, np.float64)[None])
        centre = mean[0] + np.array([self.pts_dx, self.pts_dy]) * r[0]
        half = self.pts_side * r[0] / 2
        return np.concatenate([centre - half, centre + half])


def _centre_and_radius(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (N, 2) and RMS distance to it (N,) of landmarks (N, L, 2)."""
    mean = points.mean(axis=1)
    return mean, np.sqrt(((points - mean[:, None]) ** 2).sum(axis=2).mean(axis=1))


class HogDetector:
    """dlib's HOG frontal face detector on context crops. Returns the highest-scoring box or None.

    HOG's 80 px window misses faces smaller than about 80 px, hence the resize to `detector_size` (the context
    crop holds the face at about half its side; 160 px found as many faces as larger sizes, for less time:
    docs/speed.md). Running on the crop rather than the frame keeps the cost independent of the video's
    resolution. `size=None` runs on the image as it is (any shape).
    """

    def __init__(self, size: int | None = 160, upsample: int = 0):
        import dlib

        self.size, self.upsample = size, upsample
        self._detector = dlib.get_frontal_face_detector()

    def __call__(self, crop: np.ndarray) -> np.ndarray | None:
        """The best face box (4,) in `crop`'s pixel coords (edges), or None. crop: (H, W, 3) uint8 RGB."""
        s = crop.shape[0]
        resize = self.size is not None and s != self.size
        image = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_LINEAR) if resize else crop
        rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
        if not rects:
            return None
        r = rects[int(np.argmax(scores))]
        # dlib's right/bottom are inclusive pixel indices: edges are left - 0.5 .. right + 0.5 (pixel-centre
        # coordinates); a detector-image coordinate d maps to crop coordinate (d + 0.5) * s / size - 0.5.
        edges = np.array([r.left() - 0.5, r.top() - 0.5, r.right() + 0.5, r.bottom() + 0.5])
        return (edges + 0.5) * (s / self.size) - 0.5 if resize else edges
