"""Per-frame quantities of one method on aligned ground truth: the columns every aggregate is a mean of.

Each quantity is one float per frame, NaN where it is undefined for that frame (motion at a clip's first
frame, jitter at its ends, clean-frame NME on unreliable frames, occluded-point NME where no point is
occluded). Names are stable: they are the metric keys of metrics.json (docs/metrics.md).

`frame_values` computes them from metrics.py's definitions, one function per quantity; compare uses
`method_frame_values`, the same values to rounding from one fused pass per block of clips, in threads
(tests/benchmark/test_scoring_shared_gt.py holds the two together; docs/speed.md has the timings).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from redbench import metrics as M
from redbench.benchmark.ground_truth import GroundTruth, GroundTruthError
from redbench.benchmark.stability import face_size
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


def _checked_normaliser(gt: GroundTruth, cfg: ScoringConfig, norms: dict[str, np.ndarray]) -> np.ndarray:
    d = norms[cfg.norm]  # (N,)
    bad = ~(np.isfinite(d) & (d > 0))
    if bad.any():  # a degenerate GT frame would give inf NME and poison every mean
        i = int(np.flatnonzero(bad)[0])
        raise GroundTruthError(f"{gt.dataset}: ground truth of clip {gt.clip_ids[i]} frame "
                               f"{int(gt.frame_indices[i])} has {cfg.norm} normaliser {d[i]} "
                               f"({int(bad.sum())} such frame(s))")
    return d


def _nme_values(nme: np.ndarray, gt: GroundTruth, cfg: ScoringConfig) -> dict[str, np.ndarray]:
    """The per-frame NME (N,) and what is read from it: AUC terms and failures at each threshold, clean NME."""
    out = {"nme": nme}
    for t in cfg.thresholds:
        out[f"auc@{threshold_key(t)}"] = M.auc_terms(nme, t)
        out[f"fr@{threshold_key(t)}"] = (nme > t).astype(np.float64)
    out["nme_clean"] = np.where(gt.unreliable, np.nan, nme)
    return out


def frame_values(pred: np.ndarray, gt: GroundTruth, cfg: ScoringConfig, clip_codes: np.ndarray,
                 norms: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every per-frame quantity of one method: pred (N, 68, 2) aligned row by row with gt -> name -> (N,).

    norms: `gt_normalisers(gt, cfg)` when several methods are scored on the same ground truth.
    """
    assert pred.shape == gt.landmarks.shape, (pred.shape, gt.landmarks.shape)
    g = gt.landmarks
    norms = gt_normalisers(gt, cfg) if norms is None else norms
    pixel_err = M.point_errors(pred, g)  # (N, 68), once for every normaliser below
    d = _checked_normaliser(gt, cfg, norms)  # (N,)
    point_err = pixel_err / d[:, None]  # (N, 68)
    out = _nme_values(M.nme_of_point_errors(point_err, cfg.points), gt, cfg)
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


# Rows scored at once: a block's (rows, 68, 2) temporaries stay in the CPU's cache (about 1 MB each), which
# makes each NumPy pass over them several times faster than one pass over every frame (docs/speed.md).
BLOCK_ROWS = 1024


def clip_blocks(clip_codes: np.ndarray, min_rows: int = BLOCK_ROWS) -> list[slice]:
    """Consecutive row ranges of whole clips, each of at least min_rows rows but the last (a clip longer than
    min_rows is a block of its own); rows sorted by clip. Every per-frame value of a row depends only on its
    clip's rows, so values computed block by block are those of one call over all rows."""
    codes = np.asarray(clip_codes)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.zeros(0, np.int64)
    blocks, lo = [], 0
    for s in starts[1:]:
        if s - lo >= min_rows:
            blocks.append(slice(lo, int(s)))
            lo = int(s)
    if len(codes) > lo:
        blocks.append(slice(lo, len(codes)))
    return blocks


def by_blocks(fn: Callable[[slice], dict[str, np.ndarray]], blocks: list[slice],
              pool: Executor | None = None) -> dict[str, np.ndarray]:
    """fn's per-row arrays for each block (in pool's threads when given), concatenated in block order."""
    parts = list(pool.map(fn, blocks) if pool is not None else map(fn, blocks))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def ground_truth_terms(gt: GroundTruth, cfg: ScoringConfig, clip_codes: np.ndarray, blocks: list[slice],
                       pool: Executor | None = None) -> dict[str, np.ndarray]:
    """What every method's scores share, computed once: "norm/<name>" (`gt_normalisers`), "face_w"
    (stability.face_size) and "gt_jitter" (`ground_truth_jitter`, to rounding: the kernel's), each (N,),
    block by block."""
    kernel = _FrameKernel(cfg)

    def one(b: slice) -> dict[str, np.ndarray]:
        g = gt.take(b)  # views
        norms = gt_normalisers(g, cfg)
        jit = np.full(len(g), np.nan)
        if len(g) >= 3:
            jit[1:-1] = kernel.jitter(g.landmarks, norms[cfg.norm])[0]
            jit[~stability_masks(clip_codes[b], g.frame_indices)[1]] = np.nan
        return {**{f"norm/{k}": v for k, v in norms.items()}, "face_w": face_size(g.landmarks), "gt_jitter": jit}

    return by_blocks(one, blocks, pool)


def method_frame_values(pred: np.ndarray, gt: GroundTruth, cfg: ScoringConfig, clip_codes: np.ndarray,
                        terms: dict[str, np.ndarray], blocks: list[slice],
                        pool: Executor | None = None) -> dict[str, np.ndarray]:
    """What `frame_values` and stability.fhr_frame_values give for one method (pred (N, 68, 2) aligned with
    gt), in the same key order, computed by one fused pass per block of whole clips (`clip_blocks`) in pool's
    threads. The values equal those of the two reference functions to rounding (each mean over points is a
    weighted sum, each difference of neighbours is taken once for several quantities: tests check 1e-12
    relative, 1e-9 for the second differences), and do not depend on the blocks or the threads.

    terms: `ground_truth_terms` of gt.
    """
    kernel = _FrameKernel(cfg)
    norm_names = [k.split("/", 1)[1] for k in terms if k.startswith("norm/")]

    def one(b: slice) -> dict[str, np.ndarray]:
        g = gt.take(b)  # views
        return kernel.block_values(pred[b], g, clip_codes[b], {n: terms[f"norm/{n}"][b] for n in norm_names},
                                   terms["face_w"][b])

    return by_blocks(one, blocks, pool)


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of (n, ...) arrays over every other axis: (n,)."""
    return np.einsum("ij,ij->i", a.reshape(len(a), -1), b.reshape(len(b), -1))


def _squared_lengths(v: np.ndarray) -> np.ndarray:
    """|v|^2 of 2-vectors: (n, 68, 2) -> (n, 68); 6x faster than einsum over the length-2 axis."""
    return v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1]


class _FrameKernel:
    """The fused per-block kernel of `method_frame_values`: the point errors, the neighbours' differences and
    the means over every point set (the NME point sets, the coarse groups, all 68 points) are computed once
    and shared by every quantity that uses them."""

    def __init__(self, cfg: ScoringConfig):
        self.cfg = cfg
        sets = {f"points/{p}": M.point_indices(p) for p in dict.fromkeys((cfg.points, *cfg.variant_points, 68))}
        sets.update({f"group/{name}": np.asarray(idx) for name, idx in COARSE_GROUPS.items()})
        self.column = {name: j for j, name in enumerate(sets)}
        self.scored = self.column[f"points/{cfg.points}"]  # the NME's point set (cfg.points)
        # 0/1 members, the sum divided by the count after: a constant error stays exact (ties at thresholds)
        self.members = [np.isin(np.arange(68), idx).astype(np.float64) for idx in sets.values()]
        self.counts = np.array([len(idx) for idx in sets.values()], dtype=np.float64)

    def _means(self, errors: np.ndarray, column: int | None = None) -> np.ndarray:
        """errors (n, 68) -> means over every point set (n, K), or over set `column` (n,). One einsum dot
        per set, not a BLAS product: BLAS rounds a row differently by its position in the block, and the
        values must not depend on the blocks (an (n, 68) x (68, K) einsum is 2x slower than K dots)."""
        if column is not None:
            return np.einsum("ij,j->i", errors, self.members[column]) / self.counts[column]
        return np.stack([np.einsum("ij,j->i", errors, w) for w in self.members], axis=1) / self.counts

    def jitter(self, pred: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(metrics.jitter of rows 1 .. n-2 (n-2,), the squared lengths of their second differences (n-2, 68))
        of rows (n, 68, 2) of one block, n >= 3; d: the normaliser (n,)."""
        acc = pred[2:] - pred[1:-1]  # second difference, in the order of metrics.jitter
        acc -= pred[1:-1]
        acc += pred[:-2]
        acc_sq = _squared_lengths(acc)
        return self._means(np.sqrt(acc_sq), self.scored) / d[1:-1], acc_sq

    def block_values(self, pred: np.ndarray, gt: GroundTruth, clip_codes: np.ndarray,
                     norms: dict[str, np.ndarray], face_w: np.ndarray) -> dict[str, np.ndarray]:
        cfg, col, n = self.cfg, self.column, len(pred)
        g = gt.landmarks
        d = _checked_normaliser(gt, cfg, norms)
        resid = pred - g  # (n, 68, 2)
        sq = _squared_lengths(resid)  # (n, 68) squared pixel errors
        pixel_err = np.sqrt(sq)
        means = self._means(pixel_err)  # (n, K) mean pixel error over each point set
        out = _nme_values(means[:, self.scored] / d, gt, cfg)
        has_prev, has_both = stability_masks(clip_codes, gt.frame_indices)
        motion, jit, sta1, sta2, delay = (np.full(n, np.nan) for _ in range(5))
        if n >= 2:
            step = resid[1:] - resid[:-1]  # predicted minus true motion
            motion[1:] = self._means(np.sqrt(_squared_lengths(step)), self.scored) / d[1:]
            back = g[:-1] - g[1:]  # FHR's e1: the lag along the true motion
            den = _rowdot(back, back)
            with np.errstate(invalid="ignore", divide="ignore"):
                delay[1:] = np.where(den > 0, _rowdot(resid[1:], back) / np.where(den > 0, den, 1.0), np.nan)
        if n >= 3:
            jit[1:-1], acc_sq = self.jitter(pred, d)
            sta1[1:-1] = 0.5 * np.sqrt(acc_sq.mean(axis=1)) / face_w[1:-1]  # |p_t - midpoint| = |acc| / 2
            span, from_prev = pred[2:] - pred[:-2], pred[1:-1] - pred[:-2]
            span_sq = _rowdot(span, span)
            q = np.clip(np.divide(_rowdot(from_prev, span), span_sq, out=np.zeros(n - 2), where=span_sq > 0), 0, 1)
            off = from_prev - q[:, None, None] * span  # from the segment prev -> next
            sta2[1:-1] = np.sqrt(_squared_lengths(off).mean(axis=1)) / face_w[1:-1]
        motion[~has_prev], delay[~has_prev] = np.nan, np.nan
        jit[~has_both], sta1[~has_both], sta2[~has_both] = np.nan, np.nan, np.nan
        out["motion"], out["jitter"] = motion, jit
        known = gt.occlusion_known[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            for key, mask in (("nme_visible", known & ~gt.occluded), ("nme_occluded", known & gt.occluded)):
                count = mask.sum(1)
                out[key] = np.where(count > 0, _rowdot(pixel_err, mask.astype(np.float64)) / d
                                    / np.maximum(count, 1), np.nan)
        for name in COARSE_GROUPS:
            out[f"group/{name}"] = means[:, col[f"group/{name}"]] / d
        for norm in cfg.variant_norms:
            for p in cfg.variant_points:
                out[f"nme[{norm},{p}]"] = means[:, col[f"points/{p}"]] / norms[norm]
        out["fhr_rmse"] = np.sqrt(sq.mean(axis=1)) / face_w
        out.update(fhr_delay=delay, fhr_sta1=sta1, fhr_sta2=sta2)
        return out
