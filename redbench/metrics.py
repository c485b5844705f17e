"""Face-alignment metrics as pure NumPy functions (definitions: docs/metrics.md).

Conventions (docs/protocols.md): NME per frame = mean over points of the point-to-point error divided by a
normaliser d computed from the ground truth; CED(x) = fraction of frames with NME <= x; AUC@a = area under
the CED on [0, a] divided by a; failure rate@a = fraction of frames with NME > a. No function mutates its
inputs; missing values are NaN, never sentinels.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from redbench.landmarks import COARSE_GROUPS, GROUPS, N_POINTS, OUTER_EYE_CORNERS, POINT_SETS

NORMS = ("inter_ocular", "inter_pupil", "box", "diagonal")
NORM_LABELS = {
    "inter_ocular": "inter-ocular (outer eye corners 36/45)",
    "inter_pupil": "inter-pupil (eye centres)",
    "box": "sqrt(w*h) of the GT landmark box",
    "diagonal": "diagonal of the GT landmark box",
}

PointSet = int | Sequence[int] | None


def _length(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis of size 2: (..., 2) -> (...). np.hypot is much faster here than
    np.linalg.norm, whose reduction over a length-2 axis dominated compare's profile."""
    return np.hypot(v[..., 0], v[..., 1])


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> None:
    assert pred.shape == gt.shape, (pred.shape, gt.shape)
    assert pred.shape[-2:] == (N_POINTS, 2), pred.shape


def point_indices(points: PointSet) -> np.ndarray:
    """Indices of a point set: None or 68 -> all, 51 / 49 -> landmarks.POINT_SETS, or explicit indices."""
    if points is None:
        return np.arange(N_POINTS)
    if isinstance(points, (int, np.integer)):
        if int(points) not in POINT_SETS:
            raise ValueError(f"unknown point set {points}; known: {sorted(POINT_SETS)}")
        return np.asarray(POINT_SETS[int(points)])
    return np.asarray(points, dtype=np.int64)


def landmark_box_size(gt: np.ndarray) -> np.ndarray:
    """(width, height) of the landmarks' bounding box: (..., 68, 2) -> (..., 2). Per coordinate, because a
    min/max over the points axis of (..., 68, 2) runs 15x slower than over each coordinate's points."""
    gt = np.asarray(gt, dtype=np.float64)
    x, y = gt[..., 0], gt[..., 1]
    return np.stack([x.max(axis=-1) - x.min(axis=-1), y.max(axis=-1) - y.min(axis=-1)], axis=-1)


def normaliser(gt: np.ndarray, norm: str = "inter_ocular") -> np.ndarray:
    """The per-frame normalising distance d from ground truth gt (..., 68, 2) -> (...).

    inter_ocular: distance of the outer eye corners 36 and 45; inter_pupil: distance of the eye centres
    (means of 36-41 and 42-47); box: sqrt(w*h) of the GT landmark bounding box; diagonal: its diagonal.
    """
    gt = np.asarray(gt, dtype=np.float64)
    if norm == "inter_ocular":
        a, b = OUTER_EYE_CORNERS
        return _length(gt[..., a, :] - gt[..., b, :])
    if norm == "inter_pupil":
        right = gt[..., GROUPS["right_eye"], :].mean(axis=-2)
        left = gt[..., GROUPS["left_eye"], :].mean(axis=-2)
        return _length(right - left)
    if norm in ("box", "diagonal"):
        wh = landmark_box_size(gt)  # (..., 2)
        if norm == "box":
            return np.sqrt(wh[..., 0] * wh[..., 1])
        return _length(wh)
    raise ValueError(f"unknown normaliser {norm!r}; known: {', '.join(NORMS)}")


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean point-to-point errors in pixels: pred, gt (..., 68, 2) -> (..., 68)."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt)
    return _length(pred - gt)


def normalised_point_errors(pred: np.ndarray, gt: np.ndarray, norm: str = "inter_ocular") -> np.ndarray:
    """Point errors divided by the frame's normaliser: (..., 68, 2) -> (..., 68)."""
    return point_errors(pred, gt) / normaliser(gt, norm)[..., None]


def nme(pred: np.ndarray, gt: np.ndarray, norm: str = "inter_ocular", points: PointSet = None) -> np.ndarray:
    """Normalised mean error, one value per frame: pred, gt (N, 68, 2) -> (N,).

    The mean over the point set of the point-to-point error, divided by the normaliser of the GT frame.
    points: None/68, 51 (no jaw), 49 (no jaw, no inner-mouth corners 60/64), or explicit indices.
    """
    return nme_of_point_errors(normalised_point_errors(pred, gt, norm), points)


def nme_of_point_errors(errors: np.ndarray, points: PointSet = None) -> np.ndarray:
    """NME from normalised point errors (..., 68) -> (...,): their mean over the point set. Lets a caller
    that scores many point sets and normalisers compute the point errors once."""
    # Through the index copy even for all points: its column-major layout fixes the summation order, and so
    # the values (a plain mean over the contiguous rows differs in the last bit).
    return np.asarray(errors)[..., point_indices(points)].mean(axis=-1)


def group_nme(pred: np.ndarray, gt: np.ndarray, norm: str = "inter_ocular") -> dict[str, np.ndarray]:
    """NME over each coarse landmark group (jaw, brows, nose, eyes, mouth): name -> (N,)."""
    e = normalised_point_errors(pred, gt, norm)  # (N, 68)
    return {name: nme_of_point_errors(e, list(idx)) for name, idx in COARSE_GROUPS.items()}


def _finite_errors(errors: np.ndarray) -> np.ndarray:
    e = np.asarray(errors, dtype=np.float64)
    assert e.ndim == 1, e.shape
    assert np.isfinite(e).all(), "errors must be finite (drop missing frames before scoring)"
    return e


def ced(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Cumulative error distribution: errors (N,), thresholds (K,) -> (K,) fraction of frames with error <= t."""
    e = np.sort(_finite_errors(errors))
    t = np.asarray(thresholds, dtype=np.float64)
    return np.searchsorted(e, t, side="right") / len(e)


def auc(errors: np.ndarray, threshold: float = 0.08) -> float:
    """Area under the CED on [0, threshold] divided by threshold, in [0, 1]; errors (N,).

    Computed exactly: the CED is a step function, and the integral of 1[e_i <= x] over [0, a] is
    max(0, a - e_i), so AUC = mean_i max(0, 1 - e_i / a). SBR's 2000-point trapezoid approximates this
    value to within about 1/2000.
    """
    e = _finite_errors(errors)
    return float(np.mean(auc_terms(e, threshold)))


def auc_terms(errors: np.ndarray, threshold: float = 0.08) -> np.ndarray:
    """Per-frame contributions to AUC@threshold, max(0, 1 - e / a): (N,) -> (N,); their mean is the AUC.

    Being a frame mean, AUC can be pooled, video-averaged and bootstrapped like NME.
    """
    assert threshold > 0
    return np.clip(1.0 - np.asarray(errors, dtype=np.float64) / threshold, 0.0, None)


def failure_rate(errors: np.ndarray, threshold: float = 0.08) -> float:
    """Fraction of frames with error > threshold; errors (N,)."""
    e = _finite_errors(errors)
    return float(np.mean(e > threshold))


def motion_error(pred: np.ndarray, gt: np.ndarray, norm: str = "inter_ocular", points: PointSet = None,
                 d: np.ndarray | None = None) -> np.ndarray:
    """Error of the predicted frame-to-frame motion against the GT motion: pred, gt (T, 68, 2) -> (T-1,).

    Value t is mean_l |(p[t+1] - p[t]) - (g[t+1] - g[t])| / d(g[t+1]), i.e. how wrongly the landmarks move
    between consecutive frames, normalised like NME. Rows are consecutive frames of one clip; when several
    clips are concatenated, outputs that straddle a clip boundary must be discarded by the caller.
    d: normaliser(gt, norm) (T,) when the caller has it (the same values, computed once for many methods).
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt)
    # (p[t+1] - p[t]) - (g[t+1] - g[t]) = r[t+1] - r[t] for the residual r = p - g: one temporary less
    step = np.diff(pred - gt, axis=0)  # (T-1, 68, 2)
    err = nme_of_point_errors(_length(step), points)
    return err / (normaliser(gt[1:], norm) if d is None else d[1:])


def jitter(pred: np.ndarray, gt: np.ndarray, norm: str = "inter_ocular", points: PointSet = None,
           d: np.ndarray | None = None) -> np.ndarray:
    """Jitter of a landmark track: the second difference p[t-1] - 2 p[t] + p[t+1], (T, 68, 2) -> (T-2,).

    Value t is the mean over points of |second difference| at frame t+1 divided by the GT normaliser of
    that frame. Pass gt as pred to get the jitter of the ground truth itself (the floor of real motion).
    Same clip-boundary rule as motion_error, and the same `d`.
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt)
    acc = pred[2:] - pred[1:-1]  # (T-2, 68, 2); in place from here: one temporary for long clips
    acc -= pred[1:-1]
    acc += pred[:-2]
    return nme_of_point_errors(_length(acc), points) / (normaliser(gt[1:-1], norm) if d is None else d[1:-1])


def ldeq_face_scale(gt: np.ndarray) -> np.ndarray:
    """LDEQ's face scale per frame, sqrt(x-range * y-range of the GT points / 256^2): (..., 68, 2) -> (...,),
    the face's size in units of a 256 x 256 px face (Micaelli et al. CVPR 2023, polo5/LDEQ_RwR
    utils/loss_function.py, video_NMJ)."""
    wh = landmark_box_size(gt)
    return np.sqrt(wh[..., 0] * wh[..., 1] / 256.0 ** 2)


def flicker(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """LDEQ's flicker of frame t+1 ("NMJ" in their code, "NMF" in the paper): with delta = gt - pred, the RMS
    over points of 100 |delta_t - delta_{t+1}| / s_{t+1} (s: `ldeq_face_scale`): pred, gt (T, 68, 2) ->
    (T-1,). Rows are consecutive frames of one clip (same boundary rule as motion_error)."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt)
    delta = gt - pred
    change = _length(delta[:-1] - delta[1:])  # (T-1, 68) pixels
    per_point = 100.0 * change / ldeq_face_scale(gt[1:])[:, None]
    return np.sqrt(np.mean(per_point ** 2, axis=1))


def nmf(pred: np.ndarray, gt: np.ndarray) -> float:
    """LDEQ's NMF of one video: the RMS over frames of `flicker` (T >= 2 consecutive frames)."""
    f = flicker(pred, gt)
    assert len(f), "NMF needs at least 2 frames"
    return float(np.sqrt(np.mean(f ** 2)))
