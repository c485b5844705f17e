"""dlib's public 68-point ERT model (Kazemi & Sullivan 2014), shipped in the `face_recognition_models` package.

Not trained here: dlib's model was trained on 300-W's training images including mirrored copies (dlib's model
notes), so its numbers on 300-W test images are contaminated (and on synthetic data they measure domain shift).

Box adapter: the model was trained on dlib HOG-detector boxes, whose centre moves sideways with yaw by up to
+-0.2 of the landmark box's width, which the tight landmark box we are given cannot tell. So the adapter
(redbench.datasets.detector.DlibBoxModel, calibrated on real faces) tries detector-style boxes at several such
shifts, refines each once from its own prediction's landmarks (the rule that follows yaw), and keeps the
prediction whose tight box best matches the given box. The region of 1.6 x the first detector-style box is
resampled once per frame to 192 px gray so dlib's integer outputs are fine-grained. On the developers' 15 real
photographs (scripts/bench_real_faces.py, leave-one-out calibration) this is within 1.10x of dlib's own
detector + predictor pipeline in median; a single box-derived rectangle was 1.25x, and 2.7-10x on yawed faces.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redbench.baselines._dlib import dlib_rect_of_edges, shape_points
from redbench.baselines._hog import to_gray
from redbench.datasets.detector import DlibBoxModel
from redbench.datasets.input_crop import check_upsampling, crop_affine, to_crop, to_input
from redbench.datasets.geometry import landmark_box, warp
from redbench.config import param
from redbench.methods.protocol import StaticMethod

VERSION = "2"  # 2: multi-hypothesis adapter calibrated on real faces (1: one rectangle, calibrated on astronaut)
MODEL_NAME = "shape_predictor_68_face_landmarks.dat"
TRAIN_DATA = "dlib-public-68pt (300-W train incl. mirrored)"
# The face (mean of the detector box's w, h) in dlib's input: 192 / 1.6 = 120 px. 300-W's faces, which the
# model was trained on, are mostly larger than that.
NATIVE_FACE_PX = 120.0


@dataclass(frozen=True)
class Config:
    region_scale: float = param(1.6, min=0, max=10, exclusive_min=True)  # resampled region = this x the first detector-style box
    size: int = param(192, min=16, max=2048)
    shifts: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2)  # detector-box centre hypotheses, x the box width
    refine: int = param(1, min=0, max=10)  # re-runs from the landmark rule after each hypothesis's first prediction
    boxes: DlibBoxModel = DlibBoxModel()


def model_path() -> Path:
    """The .dat file inside face_recognition_models, found without importing the package.

    (Its __init__ imports pkg_resources, which current setuptools no longer provides.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the face_recognition_models package is not installed (pip install "
                                "face_recognition_models); it ships dlib's 68-point model")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path}: dlib's 68-point model is missing from face_recognition_models")
    return path


class PretrainedERT(StaticMethod):
    """dlib's model behind the calibrated multi-hypothesis box adapter (module docstring)."""

    name = "ert_pretrained"

    def __init__(self, predictor, cfg: Config):
        self.predictor, self.cfg = predictor, cfg

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64)
        if len(boxes):
            stored = float(np.median(boxes[:, 2:] - boxes[:, :2]))
            check_upsampling(stored * self.cfg.boxes.box_side, self.cfg.size / self.cfg.region_scale, self.name)
        gray = np.clip(np.rint(to_gray(crops) * 255), 0, 255).astype(np.uint8)  # (N, S, S)
        return np.stack([self._frame(g, b) for g, b in zip(gray, boxes)]) if len(boxes) else np.zeros((0, 68, 2))

    def _frame(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(68, 2) crop coords for one gray crop (S, S) and its tight face box (4,)."""
        cfg, model = self.cfg, self.cfg.boxes
        affine = crop_affine(model.from_box(box), cfg.region_scale, cfg.size)  # (2, 3) crop -> input
        image = warp(gray, affine, cfg.size)
        best, best_err = None, np.inf
        for dx in cfg.shifts:
            rect = model.from_box(box, dx)
            for k in range(cfg.refine + 1):
                rect_in = to_input(rect.reshape(1, 2, 2), affine[None]).reshape(4)
                pts = to_crop(shape_points(self.predictor, image, dlib_rect_of_edges(rect_in), self.name)[None],
                              affine[None])[0]
                rect = model.from_points(pts)
            # the hypothesis whose prediction spans the given (tight) box best
            err = float(np.abs(landmark_box(pts) - box).sum())
            if err < best_err:
                best, best_err = pts, err
        return best


def native(image: np.ndarray, predictor, detector, near: np.ndarray | None = None, upsample: int = 1
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """dlib's own pipeline on a full image (H, W, 3) uint8 RGB: its HOG detector, then the predictor in the
    detected rectangle. Returns (the detector box (4,) as pixel edges, the points (68, 2)) or None.

    With `near` (a box (4,)), the best-scoring detection whose centre lies inside it; else the best overall.
    """
    rects, scores, _ = detector.run(image, upsample, 0.0)
    found = []
    for r, score in zip(rects, scores):
        cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
        if near is None or (near[0] < cx < near[2] and near[1] < cy < near[3]):
            found.append((score, r))
    if not found:
        return None
    r = max(found, key=lambda f: f[0])[1]
    edges = np.array([r.left() - 0.5, r.top() - 0.5, r.right() + 0.5, r.bottom() + 0.5])
    return edges, shape_points(predictor, image, r, "ert_pretrained (native)")


def load(model_dir: Path | None, cfg: Config) -> PretrainedERT:
    import dlib

    return PretrainedERT(dlib.shape_predictor(str(model_path())), cfg)
