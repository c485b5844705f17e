"""Simulated test sets with a known effect, to measure the coverage and power of the hierarchical bootstrap.

Per-frame NME of method m (a or b), training seed s, test identity i, clip c of i, frame t:

    nme = base + effect * [m = a] + seed_{m,s} + seed_clip_{m,s,c} + id_i + id_method_{m,i}
          + clip_{i,c} + clip_method_{m,i,c} + e_{m,s,c,t}

with every term a zero-mean normal of its `VarianceComponents` sd (independent across its indices), and
e an AR(1) series within each clip (lag-1 correlation frame_ar, marginal sd frame_sd). Identities and clips
are shared by the two methods (the same people and videos), the *_method terms are each method's own
reaction to them, seeds are each method's own. The true difference of the two methods over new seeds and new
people is `effect`, which is what an interval should cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.hierarchical import Design, SeedSums, design, hierarchical_test


@dataclass(frozen=True)
class VarianceComponents:
    """Sds in NME units (fractions of the inter-ocular distance: 0.01 = 1 NME point)."""

    seed_sd: float = 0.02  # a training seed's shift over the whole test set (measured: 1-3 points)
    seed_clip_sd: float = 0.01  # a seed's shift on one clip (seeds fail on different videos)
    identity_sd: float = 0.04  # a person's shift, shared by the methods
    identity_method_sd: float = 0.02  # a method's own shift on a person
    clip_sd: float = 0.02  # a clip's shift within its person, shared
    clip_method_sd: float = 0.01  # a method's own shift on a clip
    frame_sd: float = 0.02  # frame-to-frame noise, AR(1) within a clip
    frame_ar: float = 0.9


@dataclass(frozen=True)
class SimDesign:
    n_identities: int = 48  # e.g. 16 test people in each of 3 categories
    clips_per_identity: tuple[int, ...] = (2, 3, 1)  # cycled over the identities
    frames: tuple[int, int] = (60, 140)  # clip lengths drawn uniformly from [lo, hi]
    seeds_a: int = 5
    seeds_b: int = 5
    effect: float = 0.0  # true mean NME of a minus b
    base: float = 0.10


def _ar1(shape: tuple[int, ...], t: int, sd: float, phi: float, rng: np.random.Generator) -> np.ndarray:
    """AR(1) series (..., t) with marginal sd `sd` and lag-1 correlation phi."""
    e = rng.normal(0.0, sd, (*shape, t))
    innov = np.sqrt(1.0 - phi * phi)
    for k in range(1, t):
        e[..., k] = phi * e[..., k - 1] + innov * e[..., k]
    return e


def simulate(sim: SimDesign, comps: VarianceComponents,
             rng: np.random.Generator) -> tuple[SeedSums, SeedSums, Design]:
    """One simulated test set: per-seed clip sums of methods a and b, and the clips' nesting in identities."""
    per_id = np.resize(np.asarray(sim.clips_per_identity), sim.n_identities)  # (I,)
    ident = np.repeat(np.arange(sim.n_identities), per_id)  # (C,) identity of each clip
    c = len(ident)
    lengths = rng.integers(sim.frames[0], sim.frames[1] + 1, size=c)  # (C,)
    t_max = int(lengths.max())
    present = np.arange(t_max) < lengths[:, None]  # (C, T)
    shared = rng.normal(0, comps.identity_sd, sim.n_identities)[ident] + rng.normal(0, comps.clip_sd, c)  # (C,)
    out = []
    for m, n_seeds in (("a", sim.seeds_a), ("b", sim.seeds_b)):
        level = (sim.base + (sim.effect if m == "a" else 0.0) + shared
                 + rng.normal(0, comps.identity_method_sd, sim.n_identities)[ident]
                 + rng.normal(0, comps.clip_method_sd, c))  # (C,)
        seed = rng.normal(0, comps.seed_sd, (n_seeds, 1)) + rng.normal(0, comps.seed_clip_sd, (n_seeds, c))
        frames = _ar1((n_seeds, c), t_max, comps.frame_sd, comps.frame_ar, rng)  # (S, C, T)
        sums = ((level + seed)[..., None] * present + frames * present).sum(-1)  # (S, C)
        out.append(SeedSums(sums, np.broadcast_to(lengths.astype(np.float64), (n_seeds, c)).copy()))
    return out[0], out[1], design(ident)


@dataclass(frozen=True)
class SimResult:
    coverage: float  # share of simulations whose interval holds the true effect
    power: float  # share whose interval lies wholly on the true effect's side of 0 (effect != 0)
    equivalent: float  # share with the verdict "equivalent"
    verdicts: dict[str, float]
    mean_width: float  # mean interval width, NME units
    n_sims: int


def run_simulations(sim: SimDesign, comps: VarianceComponents, n_sims: int, resamples: int = 1000,
                    margin: float = 0.01, kind: str = "pooled", seed: int = 0, ci: float = 0.95,
                    small_sample: bool = True) -> SimResult:
    """Coverage, power and verdict shares of the hierarchical interval over n_sims simulated test sets."""
    rng = np.random.default_rng(seed)
    hits, side, widths = 0, 0, []
    counts = dict.fromkeys(("better", "worse", "equivalent", "unresolved"), 0)
    for k in range(n_sims):
        a, b, d = simulate(sim, comps, rng)
        t = hierarchical_test("a", "b", a, b, d, BootstrapConfig(resamples=resamples, seed=k, ci=ci), margin,
                              small_sample)[kind]
        hits += t.ci_low <= sim.effect <= t.ci_high
        side += (t.ci_high < 0) if sim.effect < 0 else (t.ci_low > 0) if sim.effect > 0 else 0
        widths.append(t.ci_high - t.ci_low)
        counts[t.verdict] += 1
    return SimResult(hits / n_sims, side / n_sims, counts["equivalent"] / n_sims,
                     {v: n / n_sims for v, n in counts.items()}, float(np.mean(widths)), n_sims)
