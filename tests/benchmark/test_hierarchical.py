from __future__ import annotations

import numpy as np
import pytest

from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.hierarchical import (
    SeedSums,
    clip_identities,
    design,
    hierarchical_test,
    hierarchical_weights,
    paired_resamples,
    resampled_means,
    seed_sums,
    seed_factors,
    seed_weights,
    tost_p,
    verdict,
)
from redbench.benchmark.hierarchical_sim import SimDesign, VarianceComponents, run_simulations


def test_seed_sums_pooled_and_video_hand_computed():
    codes = np.array([0, 0, 0, 1])
    s = seed_sums([np.array([1.0, 2, 3, 10]), np.array([2.0, np.nan, 2, 4])], codes)
    np.testing.assert_allclose(s.sums, [[6, 10], [4, 4]])
    np.testing.assert_allclose(s.counts, [[3, 1], [2, 1]])
    np.testing.assert_allclose(s.pooled(), [16 / 4, 8 / 3])
    np.testing.assert_allclose(s.video(), [(2 + 10) / 2, (2 + 4) / 2])


def test_clip_identities_and_design():
    ident = clip_identities(np.array([0, 0, 1, 2, 2]), np.array(["p", "p", "q", "p", "p"]))
    assert ident.tolist() == ["p", "q", "p"]
    d = design(ident)
    assert d.sizes.tolist() == [2, 1] and d.order.tolist() == [0, 2, 1] and d.starts.tolist() == [0, 2]
    with pytest.raises(ValueError, match="clip 0 holds frames of several identities"):
        clip_identities(np.array([0, 0]), np.array(["p", "q"]))


def test_hierarchical_weights_nest_clips_in_identities():
    d = design(np.array([0, 0, 0, 1, 2, 2]))  # identity 0: 3 clips, 1: one, 2: two
    w = hierarchical_weights(d, 500, np.random.default_rng(1))
    assert w.shape == (500, 6) and w.sum(1).min() >= 3 and w.sum(1).max() <= 9
    per_id = np.stack([w[:, :3].sum(1), w[:, 3], w[:, 4:].sum(1)], 1)
    # an identity drawn k times brings k x (its clip count) clip draws, all from its own clips
    assert (per_id % d.sizes == 0).all()
    assert ((per_id // d.sizes).sum(1) == 3).all()  # 3 identity draws per resample
    # every clip of a drawn identity is drawn with probability 1/3 per draw: mean weight 1 for every clip
    np.testing.assert_allclose(w.mean(0), 1.0, atol=0.15)
    np.testing.assert_array_equal(w, hierarchical_weights(d, 500, np.random.default_rng(1)))  # seeded


def test_seed_weights_are_fractions_of_draws():
    u = seed_weights(4, 100, np.random.default_rng(0))
    np.testing.assert_allclose(u.sum(1), 1.0)
    assert set(np.unique(u * 4).tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_resampled_means_equal_a_naive_loop():
    rng = np.random.default_rng(3)
    codes = np.repeat(np.arange(4), [3, 2, 4, 1])
    values = [rng.uniform(0, 1, len(codes)) for _ in range(3)]
    values[1][2] = np.nan  # seed 1 lacks a frame: its own counts
    x = seed_sums(values, codes)
    w = np.array([[2.0, 0, 1, 1], [0, 4, 0, 0]])  # clip multiplicities of two resamples
    u = np.array([[1 / 3, 2 / 3, 0], [0, 0, 1.0]])  # seed draws: (0, 1, 1) and (2, 2, 2)
    got = resampled_means(x, w, u)
    for b in range(2):
        pooled, video = [], []
        for s in range(3):
            frames = np.concatenate([np.repeat(values[s][codes == c], int(w[b, c])) for c in range(4)])
            pooled.append(np.nanmean(frames))
            clip_means = [np.nanmean(values[s][codes == c]) for c in range(4) for _ in range(int(w[b, c]))]
            video.append(np.mean(clip_means))
        np.testing.assert_allclose(got["pooled"][b], np.dot(u[b], pooled))
        np.testing.assert_allclose(got["video"][b], np.dot(u[b], video))
        # widened: the drawn mean moved away from the all-seed mean by the factor
        centre = np.mean(pooled)
        exp = resampled_means(x, w, u, factor=1.7)["pooled"][b]
        np.testing.assert_allclose(exp, centre + 1.7 * (np.dot(u[b], pooled) - centre))


def test_seed_factors_hand_computed():
    from scipy.stats import norm, t

    five = np.array([0.10, 0.12, 0.14, 0.16, 0.18])
    # equal seed variances, 5 seeds each: Welch's df = 2 x 4 = 8
    want = np.sqrt(5 / 4) * t.ppf(0.975, 8) / norm.ppf(0.975)
    np.testing.assert_allclose(seed_factors([five, five + 1.0], 0.95), [want, want])
    # one side with one seed: df = 4 from the other side alone; the single seed is not resampled
    np.testing.assert_allclose(seed_factors([five, np.array([0.2])], 0.95),
                               [np.sqrt(5 / 4) * t.ppf(0.975, 4) / norm.ppf(0.975), 1.0])
    assert seed_factors([np.array([0.1, 0.1]), np.array([0.3])], 0.95) == [np.sqrt(2.0), 1.0]  # no spread: no t


def test_paired_resamples_are_paired_and_seeded():
    rng = np.random.default_rng(0)
    sums = rng.uniform(0, 10, (2, 6))
    x = SeedSums(sums, np.full((2, 6), 10.0))
    d = design(np.array([0, 0, 1, 1, 2, 3]))
    cfg = BootstrapConfig(resamples=200, seed=4)
    same = paired_resamples(x, x, d, cfg, small_sample=False)
    # a method against itself: the clips are shared, but its seeds are drawn twice, independently
    assert np.std(same["pooled"]) > 0
    one = SeedSums(sums[:1], np.full((1, 6), 10.0))
    np.testing.assert_allclose(paired_resamples(one, one, d, cfg)["pooled"], 0.0, atol=1e-15)  # one seed: paired
    np.testing.assert_array_equal(same["video"], paired_resamples(x, x, d, cfg, small_sample=False)["video"])


def test_tost_p_hand_built_resamples():
    diffs = np.array([-0.02] * 90 + [0.015] * 10)
    assert tost_p(diffs, 0.01) == pytest.approx(91 / 101)  # 90 at or below -margin, 10 at or above +margin
    inside = np.linspace(-0.004, 0.004, 999)
    assert tost_p(inside, 0.01) == pytest.approx(1 / 1000)
    assert tost_p(np.array([0.0, 0.01]), 0.01) == pytest.approx(2 / 3)  # the margin itself is not inside


@pytest.mark.parametrize("lo, hi, p, want", [
    (-0.03, -0.012, 0.6, "better"),  # wholly below 0, not within the margin
    (0.002, 0.025, 0.5, "worse"),
    (-0.004, 0.006, 0.01, "equivalent"),  # within the margin (p < 0.05)
    (-0.008, -0.001, 0.02, "equivalent"),  # below 0 but smaller than the margin: equivalent wins
    (-0.02, 0.015, 0.4, "unresolved"),
    (float("nan"), float("nan"), float("nan"), "unresolved"),
])
def test_verdict_words(lo, hi, p, want):
    assert verdict(lo, hi, p, 0.05) == want


def test_hierarchical_test_reads_hand_built_data():
    # a is 2 points worse than b on every clip of every seed: the interval sits at +0.02, far from 0
    d = design(np.arange(8) // 2)
    counts = np.full((3, 8), 5.0)
    b = SeedSums(np.tile(np.linspace(0.5, 1.2, 8), (3, 1)) + np.array([[0.0], [0.01], [-0.01]]), counts)
    a = SeedSums(b.sums + 5 * 0.02, counts)
    t = hierarchical_test("a", "b", a, b, d, BootstrapConfig(resamples=300, seed=1), margin=0.01)
    for kind in ("pooled", "video"):
        assert t[kind].diff == pytest.approx(0.02)
        assert 0 < t[kind].ci_low < 0.02 < t[kind].ci_high
        assert t[kind].verdict == "worse" and t[kind].n_seeds_a == 3 and t[kind].n_identities == 4


def test_coverage_on_simulated_data_with_a_known_effect():
    """95 % intervals of a 1-point effect, 5 seeds per method, realistic variance components (seed sd 2
    points). 200 simulations (seeded): over 500 simulations this setting covers 0.97 (docs/statistics.md), and
    with 200 the binomial sd is 0.012, so the asserted 0.90 (the issue's floor) sits 5 sd below it; the plain
    seed bootstrap covers 0.91 there (at 3 seeds 0.81) and one seed per method 0.26."""
    r = run_simulations(SimDesign(effect=-0.01), VarianceComponents(), n_sims=200, resamples=500)
    assert r.coverage >= 0.90
    assert 0.05 < r.power < 0.5  # at 5 seeds a 1-point effect is found rarely: the interval is wide
