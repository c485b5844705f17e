"""Moving-block bootstrap of per-frame values, for datasets (or breakdown cells) with too few clips for a clip
bootstrap: Talking Face is one 5,000-frame video, and resampling its one clip gives a zero-width interval.

Frames of one video are autocorrelated, so single frames are not resampled (that i.i.d. bootstrap is far too
narrow): each clip of n frames is rebuilt from ceil(n / L) blocks of L consecutive frames with uniformly
drawn starts, cut back to n frames (Kuensch 1989). Clips are kept (stratified): the interval covers the
frame-to-frame variability within these videos, not the variability between videos that a clip bootstrap
measures.

Block length L per quantity, from the autocorrelation of its per-frame values (Politis & White 2004, with
the correction of Patton, Politis & White 2009): m = the smallest lag after which K_n = max(5,
sqrt(log10 n)) consecutive autocorrelations stay within 2 sqrt(log10 n / n); with the flat-top lag window
lambda over M = 2m lags, G = sum lambda(k/M) |k| R(k) and g = sum lambda(k/M) R(k),
L = (2 G^2 / (4/3 g^2))^(1/3) n^(1/3) (the moving/circular-block optimum), rounded up, kept within
[1, min(3 sqrt(n), n / 3)]. Autocovariances R are pooled over clips, each clip centred on its own mean.
"""

from __future__ import annotations

import math

import numpy as np

from redbench.benchmark.bootstrap_config import BootstrapConfig


def _clip_rows(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices of each clip, in row order (rows of one clip are its frames in time order)."""
    codes = np.asarray(codes)
    order = np.argsort(codes, kind="stable")
    _, starts = np.unique(codes[order], return_index=True)
    return np.split(order, starts[1:])


def autocovariances(series: list[np.ndarray], max_lag: int) -> np.ndarray:
    """R(k), k = 0..max_lag, pooled over series (each centred on its mean), divided by the total length."""
    r = np.zeros(max_lag + 1)
    total = 0
    for x in series:
        x = x - x.mean()
        n = len(x)
        total += n
        for k in range(min(max_lag, n - 1) + 1):
            r[k] += float(x[: n - k] @ x[k:])
    return r / max(total, 1)


def politis_white_length(series: list[np.ndarray]) -> int:
    """Block length L (frames) for the moving-block bootstrap of the mean of these series (module docstring)."""
    series = [np.asarray(x, dtype=np.float64) for x in series if len(x) >= 2]
    n = sum(len(x) for x in series)
    longest = max((len(x) for x in series), default=0)
    if n < 8 or longest < 4 or all(np.ptp(x) == 0 for x in series):
        return 1  # too short to estimate, or constant (any block length gives the same, empty, interval)
    cap = max(1, math.ceil(min(3 * math.sqrt(longest), longest / 3)))
    k_n = max(5, math.ceil(math.sqrt(math.log10(n))))
    max_lag = min(longest - 1, math.ceil(math.sqrt(n)) + k_n)
    r = autocovariances(series, max_lag)
    if r[0] <= 0:
        return 1
    rho = np.abs(r[1:] / r[0])  # lags 1..max_lag
    bound = 2.0 * math.sqrt(math.log10(n) / n)
    m = next((j for j in range(len(rho) - k_n + 1) if (rho[j:j + k_n] < bound).all()), None)
    m = max_lag // 2 if m is None else m  # never settles: the longest window the lags allow
    big_m = min(2 * max(m, 1), max_lag)
    k = np.arange(1, big_m + 1)
    t = k / big_m
    lam = np.where(t <= 0.5, 1.0, 2.0 * (1.0 - t))
    g = r[0] + 2.0 * (lam * r[1:big_m + 1]).sum()
    big_g = 2.0 * (lam * k * r[1:big_m + 1]).sum()
    if g <= 0:
        return 1
    length = (2.0 * big_g ** 2 / (4.0 / 3.0 * g ** 2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return int(min(cap, max(1, math.ceil(length))))


def block_lengths(frames: np.ndarray, codes: np.ndarray, fixed: int = 0) -> np.ndarray:
    """Block length per column of frames (N, K): `fixed` when > 0, else Politis & White's on the column's
    defined (finite) values within each clip."""
    v = np.asarray(frames, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if fixed > 0:
        return np.full(v.shape[1], fixed, dtype=np.int64)
    rows = _clip_rows(codes)
    out = np.ones(v.shape[1], dtype=np.int64)
    for j in range(v.shape[1]):
        col = v[:, j]
        out[j] = politis_white_length([col[r][np.isfinite(col[r])] for r in rows])
    return out


def block_weights(n: int, length: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Frame multiplicities (resamples, n) of a moving-block bootstrap of one clip: each row sums to n."""
    length = max(1, min(length, n))
    k = -(-n // length)
    starts = rng.integers(0, n - length + 1, size=(resamples, k))
    ends = starts + length
    ends[:, -1] = starts[:, -1] + (n - (k - 1) * length)  # the last block is cut back to n frames in all
    diff = np.zeros((resamples, n + 1))
    rows = np.repeat(np.arange(resamples), k)
    np.add.at(diff, (rows, starts.ravel()), 1.0)
    np.add.at(diff, (rows, ends.ravel()), -1.0)
    return np.cumsum(diff, axis=1)[:, :n]


def block_bootstrap(frames: np.ndarray, codes: np.ndarray, lengths: np.ndarray,
                    cfg: BootstrapConfig) -> dict[str, np.ndarray]:
    """Resampled pooled and video-averaged means {"pooled": (B, K), "video": (B, K)} of frames (N, K).

    Columns that share a block length share their resamples (all of them when the lengths are equal, which
    keeps two methods' columns paired). Seeded from cfg.seed alone.
    """
    v = np.asarray(frames, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    b, k = cfg.resamples, v.shape[1]
    pooled, video = np.full((b, k), np.nan), np.full((b, k), np.nan)
    if b == 0 or len(v) == 0:
        return {"pooled": pooled, "video": video}
    ok = np.isfinite(v)
    filled = np.where(ok, v, 0.0)
    rows = _clip_rows(codes)
    chunk = cfg.block or max(1, int(2e6 // len(v)))
    for length in np.unique(lengths):
        cols = np.flatnonzero(lengths == length)
        rng = np.random.default_rng([cfg.seed, int(length)])
        for lo in range(0, b, chunk):
            hi = min(b, lo + chunk)
            sums = np.zeros((hi - lo, len(cols)))
            counts = np.zeros((hi - lo, len(cols)))
            means = np.zeros((hi - lo, len(cols)))
            has = np.zeros((hi - lo, len(cols)))
            for r in rows:
                w = block_weights(len(r), int(length), hi - lo, rng)  # (b', n_c)
                s = np.einsum("bn,nk->bk", w, filled[r][:, cols])
                c = np.einsum("bn,nk->bk", w, ok[r][:, cols].astype(np.float64))
                sums += s
                counts += c
                with np.errstate(invalid="ignore", divide="ignore"):
                    means += np.where(c > 0, s / np.maximum(c, 1e-300), 0.0)
                has += c > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                pooled[lo:hi, cols] = sums / counts
                video[lo:hi, cols] = means / has
    return {"pooled": pooled, "video": video}
