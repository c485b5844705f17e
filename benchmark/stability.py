"""FHR's accuracy and stability errors of a video landmark track (Tai et al., "Towards Highly Accurate and
Stable Face Alignment for High-Resolution Videos", AAAI 2019; their released testing_code/loss_stable.m).

With w_t = max(width, height) of the ground-truth shape of frame t / 100 (so values are in % of the face
size) and the whole 68-point shape taken as one vector where FHR does so:

- e2 "accuracy" (`fhr_rmse`): RMS over points of |p_t - g_t| / w_t;
- e1 time delay (`fhr_delay`, in frames): <p_t - g_t, g_{t-1} - g_t> / |g_{t-1} - g_t|^2; a track that
  follows the truth one frame late scores 1, an exact one 0;
- e3 (`fhr_sta1`): RMS over points of (p_t - (p_{t-1} + p_{t+1}) / 2) / w_t, the distance from the
  midpoint of the neighbours (penalises any acceleration);
- e4 (`fhr_sta2`): q = clip(<p_t - p_{t-1}, p_{t+1} - p_{t-1}> / |p_{t+1} - p_{t-1}|^2, 0, 1), RMS over
  points of (p_t - (1 - q) p_{t-1} - q p_{t+1}) / w_t, the distance from the segment between the
  neighbours (a change of speed along a straight path is not penalised).

Each is a per-frame value; FHR averages each per video, then over videos (the video-averaged aggregate of
benchmark.aggregate). Frames without the neighbours a value needs, and delay frames whose ground truth does
not move (0 / 0), are NaN. No function mutates its inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from redbench.metrics import landmark_box_size

FHR_KEYS = ("fhr_rmse", "fhr_delay", "fhr_sta1", "fhr_sta2")


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, g = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    assert p.shape == g.shape and p.ndim == 3 and p.shape[-1] == 2, (p.shape, g.shape)
    return p, g


def face_size(gt: np.ndarray) -> np.ndarray:
    """FHR's w_t: max(width, height) of the GT landmark box / 100; gt (T, L, 2) -> (T,)."""
    return landmark_box_size(gt).max(axis=-1) / 100.0


def _rms(v: np.ndarray) -> np.ndarray:
    """RMS over points of the 2-vectors v (T, L, 2) -> (T,)."""
    return np.sqrt((v ** 2).sum(axis=-1).mean(axis=-1))


def rmse(pred: np.ndarray, gt: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """e2: RMS point error / w_t; pred, gt (T, L, 2) -> (T,). w: face_size(gt) (T,) when the caller has it."""
    p, g = _check(pred, gt)
    return _rms(p - g) / (face_size(g) if w is None else w)


def time_delay(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """e1: <p_t - g_t, g_{t-1} - g_t> / |g_{t-1} - g_t|^2 over the whole shape; (T, L, 2) -> (T-1,) for t=1..T-1.

    NaN where the ground truth does not move between t-1 and t (the lag of a still face is undefined).
    """
    p, g = _check(pred, gt)
    back = g[:-1] - g[1:]  # (T-1, L, 2): g_{t-1} - g_t
    num = ((p[1:] - g[1:]) * back).sum(axis=(-2, -1))
    den = (back ** 2).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def sta1(pred: np.ndarray, gt: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """e3: RMS of p_t - (p_{t-1} + p_{t+1}) / 2 over points, / w_t; (T, L, 2) -> (T-2,) for t=1..T-2."""
    p, g = _check(pred, gt)
    return _rms(p[1:-1] - 0.5 * (p[:-2] + p[2:])) / (face_size(g[1:-1]) if w is None else w[1:-1])


def sta2(pred: np.ndarray, gt: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """e4: RMS distance of p_t from the segment p_{t-1} -> p_{t+1} (whole-shape q), / w_t; (T, L, 2) -> (T-2,).

    Where p_{t-1} == p_{t+1} the segment is a point and q = 0 (the distance to that point).
    """
    p, g = _check(pred, gt)
    prev, cur, nxt = p[:-2], p[1:-1], p[2:]
    span = nxt - prev  # (T-2, L, 2)
    den = (span ** 2).sum(axis=(-2, -1))
    num = ((cur - prev) * span).sum(axis=(-2, -1))
    q = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0.0, 1.0)[:, None, None]
    return _rms(cur - (1.0 - q) * prev - q * nxt) / (face_size(g[1:-1]) if w is None else w[1:-1])


def neighbour_masks(clip_codes: np.ndarray, frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (sorted by clip, frame) whose previous frame (N,) / both neighbours (N,) are the adjacent rows."""
    codes, idx = np.asarray(clip_codes), np.asarray(frame_indices)
    follows = (codes[1:] == codes[:-1]) & (np.diff(idx) == 1)  # (N-1,): row i+1 is frame after row i
    has_prev = np.concatenate([[False], follows])
    has_next = np.concatenate([follows, [False]])
    return has_prev, has_prev & has_next


def fhr_frame_values(pred: np.ndarray, gt: np.ndarray, clip_codes: np.ndarray, frame_indices: np.ndarray,
                     w: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """FHR's per-frame values of one method: pred, gt (N, 68, 2) rows sorted by (clip, frame) -> key -> (N,).

    Computed over the whole concatenation, then every value that used a row of another clip (or across a
    gap in the frame numbers) is set to NaN. w: face_size(gt) (N,), computed once when many methods are scored.
    """
    p, g = _check(pred, gt)
    w = face_size(g) if w is None else w
    n = len(g)
    has_prev, has_both = neighbour_masks(clip_codes, frame_indices)
    out = {"fhr_rmse": rmse(p, g, w), "fhr_delay": np.full(n, np.nan), "fhr_sta1": np.full(n, np.nan),
           "fhr_sta2": np.full(n, np.nan)}
    if n >= 2:
        out["fhr_delay"][1:] = time_delay(p, g)
        out["fhr_delay"][~has_prev] = np.nan
    if n >= 3:
        for key, fn in (("fhr_sta1", sta1), ("fhr_sta2", sta2)):
            out[key][1:-1] = fn(p, g, w)
            out[key][~has_both] = np.nan
    return out


def fhr_layout(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json keys of FHR's values: the bare key holds FHR's own aggregate (per video, then averaged
    over videos, from `<key>/video`), `<key>/pooled` the frame-pooled mean. Other keys are left alone."""
    out = dict(metrics)
    for key in FHR_KEYS:
        if key in out and f"{key}/video" in out:
            out[f"{key}/pooled"] = out[key]
            out[key] = out.pop(f"{key}/video")
    return out
