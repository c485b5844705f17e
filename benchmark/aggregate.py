"""Means with uncertainty: frame-pooled and video-averaged means, clip bootstrap intervals, paired tests.

Every headline number (NME, AUC@a, failure rate@a, stability errors) is a mean of a per-frame quantity, so
each is summarised by per-clip sums S_c and counts n_c. A bootstrap resample draws whole clips with
replacement (frames of one video are not independent); with the resample's clip multiplicities W (B, C),
the pooled mean of every resample is (W @ S) / (W @ n) in one matrix product -- no Python loop over
resamples. Resamples are drawn in blocks to bound memory, from a seeded generator, and the same W serves
every method, so intervals of method differences are paired.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from redbench.benchmark.bootstrap_config import BootstrapConfig  # moved there; still importable from here

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipSums:
    """Per-clip sums and counts of K per-frame quantities (NaN frames do not count), and the per-frame values
    they came from (for the frame-block bootstrap of datasets with few clips)."""

    sums: np.ndarray  # (C, K) float64
    counts: np.ndarray  # (C, K) float64
    columns: tuple[np.ndarray, ...] | None = None  # the K per-frame value columns (N,), NaN = undefined
    codes: np.ndarray | None = None  # (N,) clip code of each frame row

    @property
    def n_clips(self) -> int:
        return self.sums.shape[0]

    @property
    def frames(self) -> np.ndarray:
        """The per-frame values (N, K), stacked when asked for: only the frame-block bootstrap reads them."""
        assert self.columns is not None, "these sums were made without their per-frame values"
        return np.stack(self.columns, axis=1)

    def pooled(self) -> np.ndarray:
        """Frame-pooled means (K,): every frame weighs the same."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums.sum(0) / self.counts.sum(0)

    def clip_means(self) -> np.ndarray:
        """Per-clip means (C, K), NaN where a clip has no frame for that quantity."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)

    def video_averaged(self) -> np.ndarray:
        """Video-averaged means (K,): the mean over clips of the clip means (every video weighs the same)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.clip_means(), axis=0) if self.n_clips else np.full(self.sums.shape[1], np.nan)


def clip_sums(values: np.ndarray | Sequence[np.ndarray], clip_codes: np.ndarray,
              n_clips: int | None = None) -> ClipSums:
    """values: (N, K) per-frame quantities, or a sequence of K such columns (N,) (summed one at a time, so
    no (N, K) copy is made; the same sums); NaN = undefined for that frame. clip_codes (N,) int in [0, C)."""
    codes = np.asarray(clip_codes, dtype=np.int64)
    c = int(n_clips if n_clips is not None else (codes.max() + 1 if len(codes) else 0))
    if isinstance(values, np.ndarray):
        v = np.asarray(values, dtype=np.float64)
        columns = tuple(np.ascontiguousarray(v.reshape(len(v), -1).T))  # contiguous columns, one copy
    else:
        columns = tuple(np.asarray(col, dtype=np.float64) for col in values)
    assert all(col.shape == codes.shape for col in columns), ([col.shape for col in columns], codes.shape)
    k = len(columns)
    sums, counts = np.zeros((c, k)), np.zeros((c, k))
    if len(codes) and np.all(codes[1:] >= codes[:-1]):
        # rows grouped by clip (the usual case: tables are sorted by key): reduceat over each clip's rows,
        # column by column (the same sums as one reduceat over the stacked array, bit for bit)
        present, starts = np.unique(codes, return_index=True)
        for j, col in enumerate(columns):
            ok = np.isfinite(col)
            sums[present, j] = np.add.reduceat(np.where(ok, col, 0.0), starts)
            counts[present, j] = np.add.reduceat(ok, starts, dtype=np.float64)
        return ClipSums(sums, counts, columns, codes)
    v = np.stack(columns, axis=1)
    ok = np.isfinite(v)
    flat = (codes[:, None] * k + np.arange(k)).ravel()  # one bincount for all K columns
    sums = np.bincount(flat, np.where(ok, v, 0.0).ravel(), minlength=c * k).reshape(c, k)
    counts = np.bincount(flat, ok.ravel().astype(np.float64), minlength=c * k).reshape(c, k)
    return ClipSums(sums, counts, columns, codes)


def resample_weights(n_clips: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Clip multiplicities (resamples, n_clips) int32 of a clip bootstrap: each row sums to n_clips."""
    idx = rng.integers(0, n_clips, size=(resamples, n_clips))
    flat = idx + (np.arange(resamples) * n_clips)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n_clips).reshape(resamples, n_clips).astype(np.int32)


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    block_length: int | None = None  # frames per block when the interval is a frame-block bootstrap's

    def as_dict(self) -> dict[str, float | None]:
        def f(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        out = {"value": f(self.value), "ci": [f(self.low), f(self.high)]}
        if self.block_length is not None:
            out["block_length"] = self.block_length
        return out


def uses_frame_blocks(sums: ClipSums, cfg: BootstrapConfig) -> bool:
    """Whether intervals of these sums come from the frame-block bootstrap (too few clips for clips)."""
    return 0 < sums.n_clips < cfg.min_clips and sums.columns is not None


def interval_method(sums: ClipSums, cfg: BootstrapConfig) -> dict[str, object]:
    """What the intervals of `summarise(sums, cfg)` are, for metrics.json."""
    if cfg.resamples == 0:
        return {"method": "none: no bootstrap (compare.bootstrap.resamples 0)", "n_clips": sums.n_clips}
    if uses_frame_blocks(sums, cfg):
        rule = (f"{cfg.frame_block_length} frames (params)" if cfg.frame_block_length
                else "per quantity, Politis & White (2004, corrected 2009) from the autocorrelation of its "
                     "per-frame values; each interval's block_length says which")
        return {"method": f"moving-block bootstrap of frames within each clip ({sums.n_clips} clip(s) < "
                          f"min_clips {cfg.min_clips})", "block_length": rule, "n_clips": sums.n_clips}
    return {"method": "percentile bootstrap over whole clips", "n_clips": sums.n_clips}


def _weighted(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """w (B, C) @ x (C, K) -> (B, K) with NumPy's own single-threaded loop, not BLAS: OpenBLAS's threaded dgemm
    oversubscribes the cores on these long-and-thin shapes, and einsum (without optimize, so no BLAS) is as
    fast as single-threaded BLAS here (docs/speed.md)."""
    return np.einsum("bc,ck->bk", w, x)


def _distinct_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x[:, kept] (C, K'), inverse (K,)) with x[:, kept][:, inverse] == x; by column bytes (np.unique with
    axis=1 sorts whole columns as records and took seconds on 100k clips)."""
    seen: dict[bytes, int] = {}
    kept, inverse = [], np.empty(x.shape[1], dtype=np.int64)
    for j, column in enumerate(np.ascontiguousarray(x.T)):
        key = column.tobytes()
        if key not in seen:
            seen[key] = len(kept)
            kept.append(j)
        inverse[j] = seen[key]
    return x[:, kept], inverse


def bootstrap(sums: ClipSums, cfg: BootstrapConfig) -> dict[str, np.ndarray]:
    """Resampled pooled and video-averaged means: {"pooled": (B, K), "video": (B, K)}.

    The generator is seeded from cfg.seed only, so two calls with the same number of clips draw the same
    resamples (paired across methods when their sums are stacked along K).
    """
    rng = np.random.default_rng(cfg.seed)
    c, k = sums.sums.shape
    b = cfg.resamples
    if c == 0 or b == 0:
        return {"pooled": np.full((b, k), np.nan), "video": np.full((b, k), np.nan)}
    block = cfg.block or max(1, int(2e6 // c))
    means = np.nan_to_num(sums.clip_means())  # (C, K), 0 where undefined
    # Most quantities share their per-clip frame counts (every frame-level metric of every method), so the
    # count products are computed once per distinct column.
    counts, counts_of = _distinct_columns(sums.counts)  # (C, K'), K' << K
    has, has_of = _distinct_columns((sums.counts > 0).astype(np.float64))
    pooled, video = np.empty((b, k)), np.empty((b, k))
    for lo in range(0, b, block):
        hi = min(b, lo + block)
        w = resample_weights(c, hi - lo, rng).astype(np.float64)  # (b', C)
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled[lo:hi] = _weighted(w, sums.sums) / _weighted(w, counts)[:, counts_of]
            video[lo:hi] = _weighted(w, means) / _weighted(w, has)[:, has_of]
    return {"pooled": pooled, "video": video}


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of each column of samples (B, K) -> (K,), (K,)."""
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.full(samples.shape[1], np.nan), np.full(samples.shape[1], np.nan)
    if not len(samples):
        return lo, hi
    # Columns without NaN in one vectorised quantile (nanquantile loops over columns in Python; same values)
    full = ~np.isnan(samples).any(axis=0)
    if full.any():
        lo[full], hi[full] = (np.quantile(samples[:, full], q, axis=0) for q in (alpha, 1 - alpha))
    if not full.all():
        with warnings.catch_warnings():  # all-NaN columns (a quantity no clip defines) give NaN, as they should
            warnings.simplefilter("ignore", RuntimeWarning)
            lo[~full], hi[~full] = (np.nanquantile(samples[:, ~full], q, axis=0) for q in (alpha, 1 - alpha))
    return lo, hi


def _any_bootstrap(sums: ClipSums, cfg: BootstrapConfig,
                   lengths: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """(resampled means, block length per column or None): frame blocks with too few clips, else clips."""
    if not uses_frame_blocks(sums, cfg):
        return bootstrap(sums, cfg), None
    from redbench.benchmark.block_bootstrap import block_bootstrap, block_lengths

    frames = sums.frames
    if lengths is None:
        lengths = block_lengths(frames, sums.codes, cfg.frame_block_length)
    return block_bootstrap(frames, sums.codes, lengths, cfg), lengths


def _interval(value: float, lo: float, hi: float, length: int | None) -> Interval:
    if not hi - lo > 1e-9 * max(abs(lo), abs(hi)):  # zero width (to rounding) reads as certainty: none instead
        lo = hi = float("nan")
    return Interval(float(value), float(lo), float(hi), length)


def summarise(sums: ClipSums, cfg: BootstrapConfig) -> dict[str, list[Interval]]:
    """Pooled and video-averaged means of every quantity with bootstrap intervals (clips, or frame blocks
    when there are fewer than cfg.min_clips clips); a zero-width interval is reported as none (NaN)."""
    boot, lengths = _any_bootstrap(sums, cfg)
    out: dict[str, list[Interval]] = {}
    for kind, point in (("pooled", sums.pooled()), ("video", sums.video_averaged())):
        lo, hi = percentile_interval(boot[kind], cfg.ci)
        out[kind] = [_interval(v, a, b, None if lengths is None else int(lengths[j]))
                     for j, (v, a, b) in enumerate(zip(point, lo, hi))]
    return out


@dataclass(frozen=True)
class PairedTest:
    a: str
    b: str
    n_clips: int
    mean_a: float  # frame-pooled mean of method a
    mean_b: float
    diff: Interval  # pooled mean a - b, clip-bootstrap interval (paired: the same resamples for both)
    wilcoxon_p: float | None  # two-sided, over per-clip means; None when undefined (all differences 0, < 2 clips)


def paired_test(a: str, b: str, sums_a: ClipSums, sums_b: ClipSums, cfg: BootstrapConfig,
                column: int = 0) -> PairedTest:
    """Compare methods a and b on one quantity over the same clips (scipy.stats.wilcoxon on clip means)."""
    from scipy.stats import wilcoxon

    assert sums_a.sums.shape == sums_b.sums.shape
    columns = None
    if sums_a.columns is not None and sums_b.columns is not None:
        columns = (sums_a.columns[column], sums_b.columns[column])
    both = ClipSums(
        np.stack([sums_a.sums[:, column], sums_b.sums[:, column]], 1),
        np.stack([sums_a.counts[:, column], sums_b.counts[:, column]], 1),
        columns, sums_a.codes,
    )
    lengths = None
    if uses_frame_blocks(both, cfg):  # one block length for both methods, so the resamples stay paired
        from redbench.benchmark.block_bootstrap import block_lengths

        lengths = np.full(2, block_lengths(both.frames, both.codes, cfg.frame_block_length).max())
    boot, lengths = _any_bootstrap(both, cfg, lengths)
    boot = boot["pooled"]  # (B, 2)
    point = both.pooled()
    lo, hi = percentile_interval((boot[:, 0] - boot[:, 1])[:, None], cfg.ci)
    m = both.clip_means()
    ok = np.isfinite(m).all(1)
    d = m[ok, 0] - m[ok, 1]
    p: float | None = None
    if ok.sum() >= 2 and np.any(d != 0):
        p = float(wilcoxon(m[ok, 0], m[ok, 1]).pvalue)
    return PairedTest(a, b, int(ok.sum()), float(point[0]), float(point[1]),
                      _interval(point[0] - point[1], lo[0], hi[0], None if lengths is None else int(lengths[0])), p)
