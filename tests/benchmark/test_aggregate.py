from __future__ import annotations

import warnings

import numpy as np
import pytest

from redbench.benchmark.aggregate import (
    BootstrapConfig,
    ClipSums,
    bootstrap,
    clip_sums,
    paired_test,
    resample_weights,
    summarise,
)


def test_pooled_and_video_averaged_hand_computed():
    values = np.array([[1.0, 10], [1, np.nan], [1, 30], [4, 40]])  # (N=4, K=2)
    s = clip_sums(values, np.array([0, 0, 0, 1]))
    np.testing.assert_allclose(s.sums, [[3, 40], [4, 40]])
    np.testing.assert_allclose(s.counts, [[3, 2], [1, 1]])  # the NaN frame does not count
    np.testing.assert_allclose(s.pooled(), [7 / 4, 80 / 3])
    np.testing.assert_allclose(s.video_averaged(), [(1 + 4) / 2, (20 + 40) / 2])


def test_clip_without_frames_is_skipped_in_video_mean():
    s = clip_sums(np.array([[2.0], [np.nan]]), np.array([0, 1]))
    assert np.isnan(s.clip_means()[1, 0])
    assert s.video_averaged()[0] == 2.0


def test_resample_weights_rows_sum_to_clip_count_and_are_seeded():
    w1 = resample_weights(7, 50, np.random.default_rng(3))
    w2 = resample_weights(7, 50, np.random.default_rng(3))
    np.testing.assert_array_equal(w1, w2)
    assert w1.shape == (50, 7) and (w1.sum(1) == 7).all() and (w1 >= 0).all()


def test_vectorised_bootstrap_equals_naive_loop():
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(6), [3, 1, 4, 2, 5, 1])
    values = rng.uniform(0, 1, (len(codes), 3))
    values[::4, 1] = np.nan  # column 1 has its own frame counts; columns 0 and 2 share theirs
    values[codes == 1, 1] = np.nan  # and clip 1 has no frame for it
    s = clip_sums(values, codes)
    cfg = BootstrapConfig(resamples=40, seed=11, block=7)  # several blocks
    boot = bootstrap(s, cfg)
    # the naive way: draw the same clip indices, concatenate the clips' frames, recompute the means
    draw = np.random.default_rng(11)
    naive_pooled, naive_video = [], []
    for lo in range(0, 40, 7):
        idx = draw.integers(0, 6, size=(min(40, lo + 7) - lo, 6))
        for row in idx:
            frames = np.concatenate([values[codes == c] for c in row])
            naive_pooled.append(np.nanmean(frames, 0))
            with warnings.catch_warnings():  # clip 1's all-NaN column: its mean is NaN and is skipped
                warnings.simplefilter("ignore", RuntimeWarning)
                per_clip = np.array([np.nanmean(values[codes == c], 0) for c in row])
            naive_video.append(np.nanmean(per_clip, axis=0))
    np.testing.assert_allclose(boot["pooled"], naive_pooled, rtol=1e-12)
    np.testing.assert_allclose(boot["video"], naive_video, rtol=1e-12)


def test_interval_brackets_value_and_identical_clips_give_no_interval():
    codes = np.repeat(np.arange(10), 5)
    same = clip_sums(np.full(50, 0.3), codes)
    out = summarise(same, BootstrapConfig(resamples=200))
    iv = out["pooled"][0]
    # every resample has the same mean: a zero-width interval would read as certainty, so none is given
    assert iv.value == pytest.approx(0.3) and np.isnan(iv.low) and np.isnan(iv.high)
    assert iv.as_dict() == {"value": pytest.approx(0.3), "ci": [None, None]}
    rng = np.random.default_rng(1)
    varied = clip_sums(rng.normal(0.05, 0.01, 50) + np.repeat(rng.normal(0, 0.02, 10), 5), codes)
    out = summarise(varied, BootstrapConfig(resamples=300))
    for kind in ("pooled", "video"):
        iv = out[kind][0]
        assert iv.low < iv.value < iv.high
    assert out["pooled"][0].as_dict()["ci"][0] == pytest.approx(out["pooled"][0].low)


def test_paired_test_detects_a_consistent_shift():
    rng = np.random.default_rng(2)
    codes = np.repeat(np.arange(20), 4)
    a = rng.uniform(0.02, 0.08, 80)
    sa, sb = clip_sums(a, codes), clip_sums(a + 0.01, codes)
    t = paired_test("a", "b", sa, sb, BootstrapConfig(resamples=200))
    assert t.n_clips == 20
    assert t.diff.value == pytest.approx(-0.01)
    assert np.isnan(t.diff.low) and np.isnan(t.diff.high)  # the same shift in every frame: no interval
    noisy = paired_test("a", "b", sa, clip_sums(a + 0.01 + rng.normal(0, 0.002, 80), codes),
                        BootstrapConfig(resamples=200))
    assert noisy.diff.low < -0.01 + 0.002 and noisy.diff.high > -0.01 - 0.002 and noisy.diff.high < 0
    assert t.wilcoxon_p is not None and t.wilcoxon_p < 1e-4  # 20 of 20 clips better: p = 2 / 2**20
    same = paired_test("a", "a", sa, sa, BootstrapConfig(resamples=50))
    assert same.wilcoxon_p is None and same.diff.value == 0.0


def test_empty_sums():
    s = ClipSums(np.zeros((0, 1)), np.zeros((0, 1)))
    out = summarise(s, BootstrapConfig(resamples=10))
    assert np.isnan(out["pooled"][0].value)
    assert out["pooled"][0].as_dict() == {"value": None, "ci": [None, None]}


def test_clip_sums_sorted_and_unsorted_codes_agree():
    rng = np.random.default_rng(4)
    codes = np.sort(rng.integers(0, 9, 60))
    codes[codes == 4] = 5  # clip 4 has no frame
    values = rng.normal(size=(60, 3))
    values[rng.random((60, 3)) < 0.2] = np.nan
    a = clip_sums(values, codes, n_clips=10)  # sorted: reduceat path
    perm = rng.permutation(60)
    b = clip_sums(values[perm], codes[perm], n_clips=10)  # unsorted: bincount path
    np.testing.assert_allclose(a.sums, b.sums, atol=1e-12)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts[4].sum() == 0 and a.counts[9].sum() == 0


def test_percentile_interval_is_nanquantile_of_each_column():
    from redbench.benchmark.aggregate import percentile_interval

    rng = np.random.default_rng(3)
    samples = rng.normal(size=(301, 6))
    samples[rng.random(301) < 0.1, 2] = np.nan  # some resamples without the quantity
    samples[:, 4] = np.nan  # no resample defines it
    lo, hi = percentile_interval(samples, 0.9)
    alpha = (1 - 0.9) / 2
    for j in range(samples.shape[1]):
        col = samples[:, j]
        want = ((np.nan, np.nan) if np.isnan(col).all()
                else (np.nanquantile(col, alpha), np.nanquantile(col, 1 - alpha)))
        np.testing.assert_array_equal([lo[j], hi[j]], want, err_msg=str(j))
    assert lo[0] < hi[0] and np.isnan(lo[4])


def test_clip_sums_of_columns_equal_those_of_the_stacked_array_bit_for_bit():
    """compare sums column by column (no (N, K) copy): the sums, counts and intervals must not change."""
    rng = np.random.default_rng(5)
    codes = np.repeat(np.arange(40), rng.integers(1, 30, 40))
    values = rng.normal(size=(len(codes), 4)) * np.exp(rng.normal(0, 4, (len(codes), 4)))
    values[rng.random(values.shape) < 0.1] = np.nan
    stacked = clip_sums(values, codes)
    columns = clip_sums([values[:, k].copy() for k in range(4)], codes)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])  # one reduceat over the stacked array
    ok = np.isfinite(values)
    np.testing.assert_array_equal(columns.sums, np.add.reduceat(np.where(ok, values, 0.0), starts, axis=0))
    np.testing.assert_array_equal(columns.counts, np.add.reduceat(ok, starts, axis=0, dtype=np.float64))
    np.testing.assert_array_equal(columns.sums, stacked.sums)
    np.testing.assert_array_equal(columns.counts, stacked.counts)
    np.testing.assert_array_equal(columns.frames, values)  # stacked again for the frame-block bootstrap
    cfg = BootstrapConfig(resamples=200, seed=2)
    assert summarise(columns, cfg) == summarise(stacked, cfg)
    few = BootstrapConfig(resamples=50, min_clips=100)  # 40 clips < 100: the frame-block bootstrap reads frames
    assert summarise(columns, few) == summarise(stacked, few)
    perm = rng.permutation(len(codes))  # unsorted codes: the bincount path takes columns too
    np.testing.assert_array_equal(clip_sums([values[perm, k] for k in range(4)], codes[perm]).counts,
                                  stacked.counts)
