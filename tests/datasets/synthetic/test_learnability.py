"""Learnability check: a simple static regressor learns the synthetic faces, and occlusion hurts it.

Ridge regression from HOG features of a grey crop around the ground-truth box to the landmarks (the classic
SDM-style global descriptor), trained on 300 training-video frames, must clearly beat the mean shape placed in
the same box on test frames, and its error on frames with occluded points must be higher than on clean frames.
Numbers are on synthetic data only. (Raw grey pixels with ridge barely beat the mean shape at this training
size: the identities, backgrounds and poses vary too much for a linear model of pixels.)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage.feature import hog

from redbench.datasets import raw
from redbench.datasets.geometry import apply_affine, box_to_affine, invert_affine, landmark_box, square_box, warp
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset

SIZE = 48


def _frames(root: Path, split: str):
    """HOG features (N, F+1), targets in crop units (N, 136), crop->image affines (N, 2, 3), any-occluded (N,)."""
    X, Y, A, occluded = [], [], [], []
    for v in raw.iter_raw_videos("300vw", root):
        if v.split != split:
            continue
        for f in v.frames():
            a = box_to_affine(square_box(landmark_box(f.landmarks), 1.2), SIZE)
            grey = cv2.cvtColor(warp(f.image, a, SIZE), cv2.COLOR_RGB2GRAY)
            feat = hog(grey, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
            X.append(np.append(feat, 1.0))
            Y.append(apply_affine(f.landmarks, a).ravel() / SIZE)
            A.append(invert_affine(a))
            occluded.append(any(v.sidecar["frames"][f.frame_index]["occluded"]))
    return np.array(X), np.array(Y), np.array(A), np.array(occluded)


def _nme_box(pred: np.ndarray, gt: np.ndarray, crop_to_img: np.ndarray) -> np.ndarray:
    """Per-frame NME (N,) normalised by the GT box size sqrt(w * h); pred in crop units (N, 136)."""
    pts = apply_affine(pred.reshape(-1, 68, 2) * SIZE, crop_to_img)  # (N, 68, 2)
    box = landmark_box(gt)
    size = np.sqrt((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]))
    return np.linalg.norm(pts - gt, axis=2).mean(axis=1) / size


def test_ridge_beats_mean_shape_and_occlusion_hurts(tmp_path):
    cfg = SyntheticConfig.micro(seed=5, n_identities_train=12, vw_train_videos=30, vw_test_videos_per_category=3,
                                vw_frames=10)
    write_dataset("300vw", tmp_path / "300vw", cfg)
    Xtr, Ytr, _, _ = _frames(tmp_path / "300vw", "train")
    Xte, Yte, Ate, occ = _frames(tmp_path / "300vw", "test")
    assert len(Xtr) == 300 and len(Xte) == 90 and occ.any() and (~occ).any()
    mu = Ytr.mean(axis=0)  # the mean shape in box coordinates
    lam = 3.0
    W = np.linalg.solve(Xtr.T @ Xtr + lam * np.eye(Xtr.shape[1]), Xtr.T @ (Ytr - mu))  # (F+1, 136)
    gt = apply_affine(Yte.reshape(-1, 68, 2) * SIZE, Ate)
    ridge = _nme_box(mu + Xte @ W, gt, Ate)
    mean_shape = _nme_box(np.broadcast_to(mu, Yte.shape), gt, Ate)
    assert ridge.mean() < 0.8 * mean_shape.mean()
    assert ridge[occ].mean() > 1.2 * ridge[~occ].mean()
