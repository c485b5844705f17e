"""dlib's public 68-point ERT model (Kazemi & Sullivan 2014), shipped in the `face_recognition_models` package.

Not trained here: dlib's model was trained on 300-W's training images including mirrored copies (dlib's model
notes), so its numbers on 300-W test images are contaminated (and on synthetic data they measure domain shift).

Box adapter: the model was trained on dlib HOG-detector rectangles, so our face box (the tight landmark box) is
mapped to a detector-style rectangle by `boxes.dlib_detector_rect` (measured mapping, documented there); the
region of 1.6 x that rectangle is resampled to 192 px gray so dlib's integer outputs are fine-grained.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redbench.baselines._dlib import DlibShapeMethod
from redbench.baselines.boxes import dlib_detector_rect

VERSION = "1"
MODEL_NAME = "shape_predictor_68_face_landmarks.dat"
TRAIN_DATA = "dlib-public-68pt (300-W train incl. mirrored)"


@dataclass(frozen=True)
class Config:
    region_scale: float = 1.6  # resampled region = this x the detector-style rectangle
    size: int = 192


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


def _detector_rect(box: np.ndarray) -> np.ndarray:
    return np.asarray(dlib_detector_rect(box), dtype=np.float64)


def load(model_dir: Path | None, cfg: Config) -> DlibShapeMethod:
    import dlib

    predictor = dlib.shape_predictor(str(model_path()))
    return DlibShapeMethod("ert_pretrained", predictor, _detector_rect, cfg.region_scale, cfg.size)
