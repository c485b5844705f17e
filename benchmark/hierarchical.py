"""Paired hierarchical bootstrap of two methods that have several training seeds, on the same test frames.

Three sources of variance separate a method's test NME from the NME it would have on other people with
other training runs: the training seed, the test person (identity), and the clip of that person. A clip
bootstrap within one seed (benchmark.aggregate) covers only the clips, and treats the two or three clips of
one person as independent. Here every resample

1. draws, per method, S seeds from its S seed stores with replacement (the two methods' seeds are drawn
   independently: seed k of A has nothing to do with seed k of B);
2. draws I identities from the I test identities with replacement, and for each drawn identity its n_i
   clips from its own clips with replacement (the two-stage cluster bootstrap, Davison & Hinkley 1997,
   section 3.8; frames stay in their clips, as in the clip bootstrap);
3. scores both methods on the same drawn clips (paired), and takes the difference of the means over the
   drawn seeds of the frame-pooled (or video-averaged) NME.

Few seeds: resampling S values with replacement gives their mean a variance (S - 1) / S of the unbiased
one, and a percentile interval of a mean of 3-5 values is a normal interval where Student's t is due; both
undercover (docs/statistics.md: 0.79-0.87 at 3 seeds, 0.89-0.93 at 5). Each method's resampled seed mean is
therefore moved away from the mean of all its seeds by sqrt(S / (S - 1)) (Hesterberg 2015, "expanded"
bootstrap) times t_{df} / z at the interval's level, df = the Welch-Satterthwaite degrees of freedom of the
seed variance of the difference (S - 1 per method with seeds). The people and clip levels are left as drawn
(tens of people). With one seed per method there is no seed variance to resample and the interval covers
people and clips only; the result says how many seeds each side had.

Vectorised: with clip multiplicities W (B, C), per-seed clip sums S_s (C,) and counts n_s (C,), every
resample's pooled mean of seed s is (W S_s) / (W n_s) -- one product for all seeds. Seeded from the
config's seed alone, so two calls on the same clips and seeds draw the same resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redbench.benchmark.aggregate import BootstrapConfig, percentile_interval

VERDICTS = ("better", "worse", "equivalent", "unresolved")


@dataclass(frozen=True)
class SeedSums:
    """Per-seed, per-clip sums and counts of one per-frame quantity of one method (NaN frames do not count)."""

    sums: np.ndarray  # (S, C) float64
    counts: np.ndarray  # (S, C) float64

    @property
    def n_seeds(self) -> int:
        return self.sums.shape[0]

    def clip_means(self) -> np.ndarray:
        """(S, C) per-clip means, 0 where a clip has no frame (its `has` weight is then 0)."""
        return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), 0.0)

    def pooled(self) -> np.ndarray:
        """Frame-pooled mean of each seed (S,)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums.sum(1) / self.counts.sum(1)

    def video(self) -> np.ndarray:
        """Video-averaged mean of each seed (S,): the mean over clips with frames of the clip means."""
        has = (self.counts > 0).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.clip_means().sum(1) / has


def seed_sums(values: list[np.ndarray], clip_codes: np.ndarray, n_clips: int | None = None) -> SeedSums:
    """SeedSums from one per-frame array (N,) per seed, all on the same frames (rows) with clip codes (N,)."""
    codes = np.asarray(clip_codes, dtype=np.int64)
    c = int(n_clips if n_clips is not None else (codes.max() + 1 if len(codes) else 0))
    sums, counts = np.zeros((len(values), c)), np.zeros((len(values), c))
    for s, v in enumerate(values):
        v = np.asarray(v, dtype=np.float64)
        assert v.shape == codes.shape, (v.shape, codes.shape)
        ok = np.isfinite(v)
        sums[s] = np.bincount(codes, np.where(ok, v, 0.0), minlength=c)
        counts[s] = np.bincount(codes, ok.astype(np.float64), minlength=c)
    return SeedSums(sums, counts)


@dataclass(frozen=True)
class Design:
    """Which clips belong to which test identity: clips of identity i are order[starts[i]:starts[i] + sizes[i]]."""

    order: np.ndarray  # (C,) clip numbers grouped by identity
    starts: np.ndarray  # (I,)
    sizes: np.ndarray  # (I,)

    @property
    def n_identities(self) -> int:
        return len(self.sizes)

    @property
    def n_clips(self) -> int:
        return len(self.order)


def design(clip_identity: np.ndarray) -> Design:
    """The nesting of clips in identities from the identity code (or name) of each clip (C,)."""
    _, ident = np.unique(np.asarray(clip_identity), return_inverse=True)
    order = np.argsort(ident, kind="stable")
    sizes = np.bincount(ident)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return Design(order.astype(np.int64), starts, sizes.astype(np.int64))


def clip_identities(clip_codes: np.ndarray, identity: np.ndarray, n_clips: int | None = None) -> np.ndarray:
    """The identity of each clip (C,) from per-frame clip codes and identities (N,); a clip has one person."""
    codes = np.asarray(clip_codes, dtype=np.int64)
    c = int(n_clips if n_clips is not None else codes.max() + 1)
    first = np.full(c, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # the first row of each clip
    assert (first >= 0).all(), "every clip has a frame"
    out = np.asarray(identity)[first]
    mixed = np.asarray(identity) != out[codes]
    if mixed.any():
        raise ValueError(f"clip {int(codes[np.flatnonzero(mixed)[0]])} holds frames of several identities")
    return out


def hierarchical_weights(d: Design, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Clip multiplicities (resamples, C) of the two-stage bootstrap: I identities with replacement, then
    each drawn identity's n_i clips from its own clips with replacement. A row sums to the clip count of its
    drawn identities (C on average; people with more clips bring more)."""
    n_id, c = d.n_identities, d.n_clips
    drawn = rng.integers(0, n_id, size=(resamples, n_id))  # (B, I) identity drawn into each slot
    size = d.sizes[drawn]  # (B, I) how many clips that slot draws
    width = int(d.sizes.max())
    local = np.floor(rng.random((resamples, n_id, width)) * size[..., None]).astype(np.int64)  # (B, I, w)
    clip = d.order[d.starts[drawn][..., None] + local]  # local < n_i: within the identity's clips
    used = np.arange(width) < size[..., None]  # only the first n_i draws of a slot count
    flat = (clip + (np.arange(resamples) * c)[:, None, None])[used]
    return np.bincount(flat, minlength=resamples * c).reshape(resamples, c).astype(np.float64)


def seed_weights(n_seeds: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Seed multiplicities (resamples, S) of S draws with replacement, as fractions: each row sums to 1."""
    idx = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    flat = idx + (np.arange(resamples) * n_seeds)[:, None]
    return np.bincount(flat.ravel(), minlength=resamples * n_seeds).reshape(resamples, n_seeds) / n_seeds


def _seed_mean(per_seed: np.ndarray, u: np.ndarray, factor: float) -> np.ndarray:
    """Resampled means over seeds (B,) from per-seed values (B, S) and seed weights u (B, S), their deviation
    from the mean of all seeds scaled by `factor` (1: the plain bootstrap)."""
    mean = (per_seed * u).sum(1)
    if factor == 1.0 or per_seed.shape[1] < 2:
        return mean
    centre = per_seed.mean(1)
    return centre + factor * (mean - centre)


def resampled_means(x: SeedSums, w: np.ndarray, u: np.ndarray, factor: float = 1.0) -> dict[str, np.ndarray]:
    """{"pooled": (B,), "video": (B,)} means over the drawn seeds (u (B, S)) on the drawn clips (w (B, C)),
    the seed deviations scaled by `factor` (`seed_factors`)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.einsum("bc,sc->bs", w, x.sums) / np.einsum("bc,sc->bs", w, x.counts)  # (B, S)
        video = (np.einsum("bc,sc->bs", w, x.clip_means())
                 / np.einsum("bc,sc->bs", w, (x.counts > 0).astype(np.float64)))
    return {"pooled": _seed_mean(pooled, u, factor), "video": _seed_mean(video, u, factor)}


def seed_factors(per_seed: list[np.ndarray], ci: float) -> list[float]:
    """The seed-level widening of each of the methods of one comparison (module docstring): sqrt(S / (S - 1))
    for the variance, times Student's t_{(1 + ci) / 2, df} / z_{(1 + ci) / 2} for the few seeds, with df of
    the seed variance of their sum by Welch-Satterthwaite from each method's per-seed means (S - 1 for one
    method). Methods with one seed: 1 (nothing to resample)."""
    from scipy.stats import norm, t

    terms = [(np.var(p, ddof=1) / len(p), len(p) - 1) for p in per_seed if len(p) >= 2]
    total = sum(q for q, _ in terms)
    denom = sum(q * q / df for q, df in terms)
    k = 1.0
    if total > 0 and denom > 0:
        q = (1.0 + ci) / 2.0
        k = float(t.ppf(q, total * total / denom) / norm.ppf(q))
    return [float(np.sqrt(len(p) / (len(p) - 1)) * k) if len(p) >= 2 else 1.0 for p in per_seed]


def hierarchical_means(methods: dict[str, SeedSums], d: Design, cfg: BootstrapConfig,
                       factors: dict[str, float] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """name -> {"pooled": (B,), "video": (B,)}: every method's resampled seed mean on the same drawn people
    and clips (so differences are paired), each method's seeds drawn on their own. Seeded from cfg.seed."""
    assert all(x.sums.shape[1] == d.n_clips for x in methods.values()), d.n_clips
    factors = factors or {}
    rng = np.random.default_rng([cfg.seed, 2])  # its own stream: not the clip bootstrap's resamples
    out = {m: {"pooled": np.empty(cfg.resamples), "video": np.empty(cfg.resamples)} for m in methods}
    block = cfg.block or max(1, int(2e6 // max(d.n_clips, 1)))
    for lo in range(0, cfg.resamples, block):
        hi = min(cfg.resamples, lo + block)
        w = hierarchical_weights(d, hi - lo, rng)
        for m, x in methods.items():
            got = resampled_means(x, w, seed_weights(x.n_seeds, hi - lo, rng), factors.get(m, 1.0))
            for k in got:
                out[m][k][lo:hi] = got[k]
    return out


def paired_resamples(a: SeedSums, b: SeedSums, d: Design, cfg: BootstrapConfig,
                     small_sample: bool = True) -> dict[str, np.ndarray]:
    """Resampled differences of the seed means, method a minus b: {"pooled": (B,), "video": (B,)}.

    a and b: the same C clips (columns) as the design; their seed counts may differ. small_sample: the
    seed-level widening of `seed_factors` (False: the plain bootstrap). Seeded from cfg.seed.
    """
    fa, fb = seed_factors([a.pooled(), b.pooled()], cfg.ci) if small_sample else (1.0, 1.0)
    got = hierarchical_means({"a": a, "b": b}, d, cfg, {"a": fa, "b": fb})
    return {k: got["a"][k] - got["b"][k] for k in ("pooled", "video")}


def tost_p(diffs: np.ndarray, margin: float) -> float:
    """Two one-sided tests of |difference| >= margin on bootstrap resamples of the difference (B,): the
    larger of the two one-sided p-values, each the share of resamples at or beyond its side of the margin,
    (count + 1) / (B + 1) so that no p is 0 (Davison & Hinkley 1997, eq. 4.11). p < alpha iff the
    (1 - 2 alpha) percentile interval lies inside (-margin, margin), up to that +1."""
    d = np.asarray(diffs, dtype=np.float64)
    d = d[np.isfinite(d)]
    if margin <= 0 or not len(d):
        return float("nan") if not len(d) else 1.0
    low = (1 + np.count_nonzero(d <= -margin)) / (len(d) + 1)
    high = (1 + np.count_nonzero(d >= margin)) / (len(d) + 1)
    return float(max(low, high))


def verdict(ci_low: float, ci_high: float, p_tost: float, alpha: float) -> str:
    """The reading of a difference a - b of errors (lower is better), in VERDICTS:

    equivalent: the TOST rejects a difference as large as the margin (p < alpha), whatever the sign: a
        difference smaller than the margin is not one that matters, even where the interval excludes 0;
    better / worse: otherwise, the interval lies wholly below / above 0;
    unresolved: anything else (the interval holds 0 and reaches beyond the margin), or no interval.
    """
    if np.isfinite(p_tost) and p_tost < alpha:
        return "equivalent"
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "unresolved"
    if ci_high < 0:
        return "better"
    if ci_low > 0:
        return "worse"
    return "unresolved"


@dataclass(frozen=True)
class HierarchicalTest:
    a: str
    b: str
    n_seeds_a: int
    n_seeds_b: int
    n_identities: int
    n_clips: int
    kind: str  # "pooled" | "video"
    diff: float  # mean over seeds of a's mean minus b's
    ci_low: float
    ci_high: float
    margin: float
    tost_p: float
    verdict: str

    def as_dict(self) -> dict[str, object]:
        def f(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {"a": self.a, "b": self.b, "n_seeds_a": self.n_seeds_a, "n_seeds_b": self.n_seeds_b,
                "n_identities": self.n_identities, "n_clips": self.n_clips, "kind": self.kind,
                "diff": {"value": f(self.diff), "ci": [f(self.ci_low), f(self.ci_high)]},
                "tost": {"margin": self.margin, "p": f(self.tost_p)}, "verdict": self.verdict}


def hierarchical_test(name_a: str, name_b: str, a: SeedSums, b: SeedSums, d: Design, cfg: BootstrapConfig,
                      margin: float, small_sample: bool = True) -> dict[str, HierarchicalTest]:
    """kind ("pooled", "video") -> the paired hierarchical comparison of a and b with its TOST verdict.

    The interval is the cfg.ci percentile interval; the TOST's alpha is 1 - cfg.ci (for cfg.ci = 0.95: the
    5 % two one-sided tests, i.e. the 90 % interval inside the margin).
    """
    boot = paired_resamples(a, b, d, cfg, small_sample)
    point = {"pooled": np.nanmean(a.pooled()) - np.nanmean(b.pooled()),
             "video": np.nanmean(a.video()) - np.nanmean(b.video())}
    alpha = 1.0 - cfg.ci
    out = {}
    for kind, diffs in boot.items():
        lo, hi = (float(v[0]) for v in percentile_interval(diffs[:, None], cfg.ci))
        p = tost_p(diffs, margin)
        if not hi - lo > 1e-9 * max(abs(lo), abs(hi)):  # no variability to resample (one clip, one seed each):
            lo = hi = p = float("nan")  # a zero-width interval would read as certainty
        out[kind] = HierarchicalTest(name_a, name_b, a.n_seeds, b.n_seeds, d.n_identities, d.n_clips, kind,
                                     float(point[kind]), lo, hi, margin, p, verdict(lo, hi, p, alpha))
    return out
