"""Trained methods on real annotated photographs: how far synthetic training carries to real faces.

Each face is put through the path `redbench preprocess` and `predict --box gt` take on a video frame: the
context crop of its annotated landmarks at the run's preprocess settings, its `gt` box, the method's
`predict_clip` on that one frame, mapped back to the photograph. NME: inter-ocular (outer eye corners), 68
points, against the human annotation. Photographs for measuring, not a benchmark: the folder's README says
how they may be used (dlib's pretrained model was trained on some of them).

    redbench real-faces ../shared/data/real_faces --models-dir models --out docs/real_faces.json
"""

from __future__ import annotations

import json
import statistics
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class RealFacesError(ValueError):
    """A folder of photographs that cannot be read; names the file."""


@dataclass(frozen=True)
class Face:
    name: str  # <subfolder>/<stem>
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) 0-based pixel coordinates


def read_faces(folder: str | Path) -> list[Face]:
    """Every <subfolder>/<name>.pts (1-based iBUG points) with a .png or .jpg beside it, in name order."""
    import cv2

    from redbench.datasets.pts import read_pts, to_zero_based

    faces = []
    for pts in sorted(Path(folder).glob("*/*.pts")):
        image = next((p for p in (pts.with_suffix(s) for s in (".png", ".jpg")) if p.is_file()), None)
        if image is None:
            raise RealFacesError(f"{pts}: no .png or .jpg beside it")
        bgr = cv2.imread(str(image))
        if bgr is None:
            raise RealFacesError(f"{image}: not a readable image")
        points = to_zero_based(read_pts(pts))
        if points.shape != (68, 2):
            raise RealFacesError(f"{pts}: {len(points)} points, not 68")
        faces.append(Face(f"{pts.parent.name}/{pts.stem}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), points))
    if not faces:
        raise RealFacesError(f"{folder}: no <folder>/<name>.pts files")
    return faces


def predict_face(method: Any, face: Face, preprocess: Any) -> np.ndarray:
    """The method's (68, 2) prediction in photograph coordinates, as preprocess + predict --box gt make it."""
    from redbench.datasets.boxes import gt_boxes
    from redbench.datasets.geometry import apply_affine, invert_affine
    from redbench.datasets.preprocess import context_affine, warp_context

    to_crop = context_affine(face.landmarks, preprocess)
    crop = warp_context(face.image, to_crop, preprocess.crop_size)
    box = gt_boxes(apply_affine(face.landmarks, to_crop)[None], preprocess.boxes.gt_box_scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small stored face is upsampled by some methods: that is the setting
        pred = method.predict_clip(crop[None], box, False, gt_box_scale=preprocess.boxes.gt_box_scale)[0]
    return apply_affine(pred, invert_affine(to_crop))


def score(faces: list[Face], methods: dict[str, Any], preprocess: Any) -> dict[str, Any]:
    """{"faces": names, "nme": {method: per-face NME}, "mean": {method: mean NME}} (inter-ocular, 68 points)."""
    from redbench.metrics import nme

    truth = np.stack([f.landmarks for f in faces])
    per = {}
    for name, method in methods.items():
        pred = np.stack([predict_face(method, f, preprocess) for f in faces])
        per[name] = [float(v) for v in nme(pred, truth, "inter_ocular")]
    return {"faces": [f.name for f in faces], "nme": per,
            "mean": {m: statistics.fmean(v) for m, v in per.items()},
            "preprocess": {"crop_size": preprocess.crop_size, "context_scale": preprocess.context_scale},
            "box_protocol": "gt", "norm": "inter_ocular", "points": 68}


def to_markdown(result: dict[str, Any], source: str) -> str:
    """The table for the README: each method's mean and median NME over the photographs, lowest first."""
    face_px = result["preprocess"]["crop_size"] / result["preprocess"]["context_scale"]
    lines = [f"{len(result['faces'])} real photographs ({source}), `gt` boxes, the stored face {face_px:g} px as "
             "in the run; NME inter-ocular, 68 points.", "",
             "| method | mean NME % | median NME % | faces under 10 % |", "|---|---:|---:|---:|"]
    for m in sorted(result["mean"], key=result["mean"].__getitem__):
        v = result["nme"][m]
        lines.append(f"| {m} | {100 * result['mean'][m]:.1f} | {100 * statistics.median(v):.1f} | "
                     f"{sum(x < 0.10 for x in v)} / {len(v)} |")
    return "\n".join(lines) + "\n"


def read_result(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RealFacesError(f"{path}: {e}") from None
