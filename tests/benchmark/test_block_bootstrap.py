"""The moving-block bootstrap of frames for datasets with too few clips (Talking Face: one video)."""

from __future__ import annotations

import numpy as np

from redbench.benchmark.aggregate import BootstrapConfig, clip_sums, interval_method, paired_test, summarise
from redbench.benchmark.block_bootstrap import block_lengths, block_weights, politis_white_length


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """A stationary AR(1) series of unit innovations."""
    e = rng.normal(0, 1, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_block_weights_are_whole_clips_of_contiguous_blocks():
    w = block_weights(10, 3, 200, np.random.default_rng(0))
    assert w.shape == (200, 10) and (w.sum(1) == 10).all() and (w >= 0).all()
    np.testing.assert_array_equal(block_weights(7, 7, 5, np.random.default_rng(1)), np.ones((5, 7)))
    np.testing.assert_array_equal(block_weights(7, 50, 3, np.random.default_rng(1)), np.ones((3, 7)))
    # one block of 4 and a last block cut to 2 frames: 4 + 2 = 6 frames; each block covers consecutive frames
    w = block_weights(6, 4, 300, np.random.default_rng(2))
    assert (w.max(1) <= 2).all() and (w.sum(1) == 6).all()
    # every frame can be drawn, the end frames least often (the moving-block edge effect)
    mean = w.mean(0)
    assert (mean > 0).all() and mean[0] < mean[2] and mean[-1] < mean[3]


def test_politis_white_length_grows_with_autocorrelation():
    rng = np.random.default_rng(3)
    iid = politis_white_length([rng.normal(size=2000)])
    weak = politis_white_length([_ar1(rng, 2000, 0.3)])
    strong = politis_white_length([_ar1(rng, 2000, 0.9)])
    assert iid <= 3 and iid < weak < strong
    assert strong <= 3 * np.sqrt(2000)
    assert politis_white_length([np.full(100, 0.2)]) == 1  # constant: nothing to estimate
    assert politis_white_length([np.array([1.0, 2.0])]) == 1  # too short


def test_block_lengths_per_column_and_fixed():
    rng = np.random.default_rng(4)
    frames = np.stack([rng.normal(size=600), _ar1(rng, 600, 0.9)], 1)
    frames[::7, 0] = np.nan  # undefined frames are skipped, not a failure
    lengths = block_lengths(frames, np.zeros(600, int))
    assert lengths[0] < lengths[1]
    np.testing.assert_array_equal(block_lengths(frames, np.zeros(600, int), fixed=9), [9, 9])


def test_one_clip_gets_a_block_interval_never_a_zero_width_one():
    rng = np.random.default_rng(5)
    v = 0.05 + 0.01 * _ar1(rng, 300, 0.7)
    cfg = BootstrapConfig(resamples=300)
    s = clip_sums(np.stack([v, np.full(300, 0.2)], 1), np.zeros(300, int))
    out = summarise(s, cfg)
    iv = out["pooled"][0]
    assert iv.low < iv.value < iv.high and iv.block_length > 1
    assert out["video"][0].low == iv.low  # one clip: video-averaged = pooled
    assert iv.as_dict()["block_length"] == iv.block_length
    assert np.isnan(out["pooled"][1].low)  # a constant quantity gets no interval
    assert "moving-block" in interval_method(s, cfg)["method"]
    # enough clips: the clip bootstrap, with no block length
    many = clip_sums(v, np.repeat(np.arange(10), 30))
    assert summarise(many, cfg)["pooled"][0].block_length is None
    assert "whole clips" in interval_method(many, cfg)["method"]


def test_few_clips_resample_within_each_clip():
    rng = np.random.default_rng(6)
    codes = np.repeat([0, 1], [100, 50])
    v = np.concatenate([rng.normal(0.1, 0.01, 100), rng.normal(0.3, 0.01, 50)])
    out = summarise(clip_sums(v, codes), BootstrapConfig(resamples=300, frame_block_length=5))
    # clips keep their sizes in every resample: the pooled mean stays near (100 * .1 + 50 * .3) / 150
    pooled, video = out["pooled"][0], out["video"][0]
    assert abs(pooled.value - 0.5 / 3) < 0.003 and pooled.high - pooled.low < 0.01
    assert abs(video.value - 0.2) < 0.003 and video.block_length == 5


def test_paired_test_on_one_clip_shares_the_block_resamples():
    rng = np.random.default_rng(7)
    a = 0.05 + 0.01 * _ar1(rng, 400, 0.8)
    b = a + 0.002 + rng.normal(0, 0.0005, 400)
    codes = np.zeros(400, int)
    t = paired_test("a", "b", clip_sums(a, codes), clip_sums(b, codes), BootstrapConfig(resamples=300))
    # paired: the shared ups and downs of a and b cancel, so the interval is tight around -0.002
    assert t.diff.low < -0.002 < t.diff.high and t.diff.high - t.diff.low < 0.0005
    assert t.diff.block_length is not None and t.wilcoxon_p is None  # one clip: no Wilcoxon test


def test_block_bootstrap_covers_the_mean_of_autocorrelated_errors():
    """~95 % nominal on AR(1) errors (phi 0.6, 300 frames, one clip): the block interval covers the true mean
    in roughly 85-99 % of simulations; the i.i.d. frame bootstrap (blocks of one frame) undercovers."""
    rng = np.random.default_rng(8)
    sims, hits_block, hits_iid = 200, 0, 0
    codes = np.zeros(300, int)
    for s in range(sims):
        v = 0.05 + 0.01 * _ar1(rng, 300, 0.6)
        sums = clip_sums(v, codes)
        block = summarise(sums, BootstrapConfig(resamples=300, seed=s))["pooled"][0]
        iid = summarise(sums, BootstrapConfig(resamples=300, seed=s, frame_block_length=1))["pooled"][0]
        hits_block += block.low <= 0.05 <= block.high
        hits_iid += iid.low <= 0.05 <= iid.high
    assert 0.85 <= hits_block / sims <= 0.99
    assert hits_iid / sims < 0.75 < hits_block / sims
