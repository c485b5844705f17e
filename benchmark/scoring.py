"""Per-frame quantities of one method on aligned ground truth: the columns every aggregate is a mean of.

Each quantity is one float per frame, NaN where it is undefined for that frame (motion at a clip's first
frame, jitter at its ends, clean-frame NME on unreliable frames, occluded-point NME where no point is
occluded). Names are stable: they are the metric keys of metrics.json (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redbench.benchmark import metrics as M
from redbench.benchmark.ground_truth import GroundTruth, GroundTruthError
from redbench.config import param
from redbench.landmarks import COARSE_GROUPS


@dataclass(frozen=True)
class ScoringConfig:
    norm: str = "inter_ocular"
    points: int = 68
    thresholds: tuple[float, ...] = param((0.08, 0.10), min=0, max=1, exclusive_min=True)
    variant_norms: tuple[str, ...] = ("inter_ocular", "inter_pupil", "box", "diagonal")
    variant_points: tuple[int, ...] = (68, 51, 49)

    def __post_init__(self) -> None:
        if self.norm not in M.NORMS:
            raise ValueError(f"norm {self.norm!r} unknown; known: {', '.join(M.NORMS)}")
        M.point_indices(self.points)
        for n in self.variant_norms:
            if n not in M.NORMS:
                raise ValueError(f"variant norm {n!r} unknown; known: {', '.join(M.NORMS)}")
        for p in self.variant_points:
            M.point_indices(p)
        if not self.thresholds or any(t <= 0 for t in self.thresholds):
            raise ValueError(f"thresholds must be positive, got {self.thresholds}")


def threshold_key(t: float) -> str:
    return f"{t:g}"


def stability_masks(clip_codes: np.ndarray, frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (sorted by clip, frame) that have a previous frame (N,) and that have both neighbours (N,)."""
    same = (clip_codes[1:] == clip_codes[:-1]) & (np.diff(frame_indices) == 1)  # (N-1,): row i+1 follows row i
    has_prev = np.concatenate([[False], same])
    has_both = np.concatenate([[False], same[:-1] & same[1:], [False]]) if len(same) else np.zeros(len(same) + 1, bool)
    return has_prev, has_both


def _stability(pred: np.ndarray, gt: np.ndarray, cfg: ScoringConfig, has_prev: np.ndarray,
               has_both: np.ndarray, d: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    n = len(gt)
    motion = np.full(n, np.nan)
    jit = np.full(n, np.nan)
    if n >= 2:
        # over the whole concatenation, then keep only rows whose neighbours are in the same clip
        motion[1:] = M.motion_error(pred, gt, cfg.norm, cfg.points, d)
        motion[~has_prev] = np.nan
    if n >= 3:
        jit[1:-1] = M.jitter(pred, gt, cfg.norm, cfg.points, d)
        jit[~has_both] = np.nan
    return motion, jit


def gt_normalisers(gt: GroundTruth, cfg: ScoringConfig) -> dict[str, np.ndarray]:
    """norm -> (N,) normaliser of every norm `frame_values` uses: computed once, shared by all methods."""
    return {n: M.normaliser(gt.landmarks, n) for n in dict.fromkeys((cfg.norm, *cfg.variant_norms))}


def frame_values(pred: np.ndarray, gt: GroundTruth, cfg: ScoringConfig, clip_codes: np.ndarray,
                 norms: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every per-frame quantity of one method: pred (N, 68, 2) aligned row by row with gt -> name -> (N,).

    norms: `gt_normalisers(gt, cfg)` when several methods are scored on the same ground truth.
    """
    assert pred.shape == gt.landmarks.shape, (pred.shape, gt.landmarks.shape)
    g = gt.landmarks
    norms = gt_normalisers(gt, cfg) if norms is None else norms
    pixel_err = M.point_errors(pred, g)  # (N, 68), once for every normaliser below
    d = norms[cfg.norm]  # (N,)
    bad = ~(np.isfinite(d) & (d > 0))
    if bad.any():  # a degenerate GT frame would give inf NME and poison every mean
        i = int(np.flatnonzero(bad)[0])
        raise GroundTruthError(f"{gt.dataset}: ground truth of clip {gt.clip_ids[i]} frame "
                               f"{int(gt.frame_indices[i])} has {cfg.norm} normaliser {d[i]} "
                               f"({int(bad.sum())} such frame(s))")
    point_err = pixel_err / d[:, None]  # (N, 68)
    nme = M.nme_of_point_errors(point_err, cfg.points)
    out: dict[str, np.ndarray] = {"nme": nme}
    for t in cfg.thresholds:
        out[f"auc@{threshold_key(t)}"] = M.auc_terms(nme, t)
        out[f"fr@{threshold_key(t)}"] = (nme > t).astype(np.float64)
    out["nme_clean"] = np.where(gt.unreliable, np.nan, nme)
    has_prev, has_both = stability_masks(clip_codes, gt.frame_indices)
    out["motion"], out["jitter"] = _stability(pred, g, cfg, has_prev, has_both, d)
    out.update(visibility_values(point_err, gt))
    for name, pts in COARSE_GROUPS.items():
        out[f"group/{name}"] = M.nme_of_point_errors(point_err, list(pts))
    for norm in cfg.variant_norms:
        e = point_err if norm == cfg.norm else pixel_err / norms[norm][:, None]
        for p in cfg.variant_points:
            out[f"nme[{norm},{p}]"] = M.nme_of_point_errors(e, p)
    return out


def visibility_values(point_err: np.ndarray, gt: GroundTruth) -> dict[str, np.ndarray]:
    """NME over the visible and over the occluded points of each frame (all 68 points; NaN where none).

    Only frames whose occlusion is annotated count; "occluded" = covered by an occluder (gt.occluded).
    """
    known = gt.occlusion_known[:, None]
    vis = known & ~gt.occluded  # (N, 68)
    occ = known & gt.occluded
    with np.errstate(invalid="ignore", divide="ignore"):
        nv = vis.sum(1)
        no = occ.sum(1)
        visible = np.where(nv > 0, (point_err * vis).sum(1) / np.maximum(nv, 1), np.nan)
        occluded = np.where(no > 0, (point_err * occ).sum(1) / np.maximum(no, 1), np.nan)
    return {"nme_visible": visible, "nme_occluded": occluded}


def ground_truth_jitter(gt: GroundTruth, cfg: ScoringConfig, clip_codes: np.ndarray) -> np.ndarray:
    """Jitter of the GT tracks themselves (N,): the real motion's share of any method's jitter."""
    has_prev, has_both = stability_masks(clip_codes, gt.frame_indices)
    return _stability(gt.landmarks, gt.landmarks, cfg, has_prev, has_both)[1]
