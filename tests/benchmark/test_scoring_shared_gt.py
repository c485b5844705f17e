"""compare computes the ground truth's terms once for all methods and every method's per-frame values in one
fused pass per block of clips, in threads: the values must equal those of metrics.py / stability.py computed
for one method alone (to rounding: 1e-12 relative; 1e-9 for the values built on second differences of
landmarks, whose cancellation the two computations round differently), and must not depend on the blocks or
the threads at all."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from redbench import metrics as M
from redbench.benchmark import stability as S
from redbench.benchmark.compare import CompareConfig, score_dataset
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.scoring import (ScoringConfig, clip_blocks, frame_values, ground_truth_jitter,
                                        ground_truth_terms, gt_normalisers, method_frame_values, stability_masks)
from redbench.benchmark.store import PredictionMeta, write_predictions


def _gt(rng, n_clips=4, clip_len=9):
    ids = np.repeat([f"300vw/{c:03d}" for c in range(n_clips)], clip_len)
    frames = np.tile(np.arange(clip_len), n_clips)
    frames[frames >= clip_len // 2] += 1  # a gap in every clip: no motion across it
    lm = rng.uniform(40, 160, (68, 2)) + np.cumsum(rng.normal(0, 1, (len(ids), 1, 2)), axis=0)
    lm = lm + rng.normal(0, 0.5, lm.shape)
    lm[len(ids) // 3] = lm[len(ids) // 3 - 1]  # a still face: FHR's delay is undefined there
    return make_ground_truth("300vw", "synthetic", "m", ids, frames, lm,
                             unreliable=rng.random(len(ids)) < 0.2, occluded=rng.random((len(ids), 68)) < 0.1,
                             occlusion_known=rng.random(len(ids)) < 0.7)


# per-frame values computed from second differences of the landmarks (jitter, FHR's stability terms)
SECOND_DIFFERENCES = ("jitter", "fhr_sta1", "fhr_sta2")


def _assert_close(got: dict, want: dict, where: str) -> None:
    assert list(got) == list(want), where  # same keys, same order: metrics.json's layout
    for k in want:
        np.testing.assert_array_equal(np.isnan(got[k]), np.isnan(want[k]), err_msg=f"{where} {k}: NaN rows")
        rtol = 1e-9 if k in SECOND_DIFFERENCES else 1e-12
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=0, err_msg=f"{where} {k}")


def test_shared_normalisers_give_the_values_of_one_method_alone():
    rng = np.random.default_rng(0)
    gt = _gt(rng)
    cfg = ScoringConfig()
    codes, _ = gt.clip_codes()
    pred = gt.landmarks + rng.normal(0, 2, gt.landmarks.shape)
    alone = frame_values(pred, gt, cfg, codes)
    shared = frame_values(pred, gt, cfg, codes, gt_normalisers(gt, cfg))
    assert alone.keys() == shared.keys()
    for k in alone:
        np.testing.assert_array_equal(shared[k], alone[k], err_msg=k)
    # and both are metrics.py's functions, evaluated directly
    np.testing.assert_array_equal(shared["nme"], M.nme(pred, gt.landmarks, "inter_ocular", 68))
    np.testing.assert_array_equal(shared["nme[box,49]"], M.nme(pred, gt.landmarks, "box", 49))
    first = (codes[1:] == codes[:-1]) & (np.diff(gt.frame_indices) == 1)  # row i+1 is the next frame
    np.testing.assert_array_equal(shared["motion"][1:][first], M.motion_error(pred, gt.landmarks)[first])


def test_score_dataset_equals_the_per_method_functions(tmp_path):
    rng = np.random.default_rng(1)
    gt = _gt(rng)
    files, preds = {}, {}
    for k in range(2):
        m = f"m{k}"
        preds[m] = gt.landmarks + rng.normal(0, 1 + k, gt.landmarks.shape)
        files[m] = tmp_path / f"{m}.h5"
        write_predictions(files[m], PredictionMeta(m, "1", "c", "t", "gt", "300vw", "synthetic", "m", 0.0),
                          gt.clip_ids, gt.frame_indices, preds[m])
    cfg = CompareConfig(methods=tuple(files), reference_method="m0", out_dir=str(tmp_path / "results"))
    scores = score_dataset(gt, files, cfg)
    codes = scores.clip_codes
    for m, pred in preds.items():
        want = frame_values(pred, gt, cfg.scoring, codes)
        want.update(S.fhr_frame_values(pred, gt.landmarks, codes, gt.frame_indices))
        flicker = np.full(len(gt), np.nan)  # LDEQ's, squared, on the rows that follow their previous frame
        flicker[1:] = M.flicker(pred, gt.landmarks) ** 2
        flicker[~stability_masks(codes, gt.frame_indices)[0]] = np.nan
        want["nmf_sq"] = flicker
        _assert_close(scores.values[m], want, m)
        np.testing.assert_allclose(scores.values[m]["fhr_rmse"], S.rmse(pred, gt.landmarks), rtol=1e-12)
        assert np.isnan(scores.values[m]["fhr_delay"]).sum() > 4  # clip starts, gaps, the still face
    want = ground_truth_jitter(gt, cfg.scoring, codes)
    np.testing.assert_array_equal(np.isnan(scores.gt_jitter), np.isnan(want))
    np.testing.assert_allclose(scores.gt_jitter, want, rtol=1e-9, atol=0)


@pytest.mark.parametrize("min_rows", [1, 7, 10, 1000])
def test_values_do_not_depend_on_blocks_or_threads(min_rows):
    rng = np.random.default_rng(2)
    gt = _gt(rng, n_clips=5, clip_len=8)
    cfg = ScoringConfig()
    codes, _ = gt.clip_codes()
    pred = gt.landmarks + rng.normal(0, 2, gt.landmarks.shape)
    whole = [slice(0, len(gt))]
    ref = method_frame_values(pred, gt, cfg, codes, ground_truth_terms(gt, cfg, codes, whole), whole)
    blocks = clip_blocks(codes, min_rows)
    with ThreadPoolExecutor(2) as pool:
        terms = ground_truth_terms(gt, cfg, codes, blocks, pool)
        got = method_frame_values(pred, gt, cfg, codes, terms, blocks, pool)
    assert list(got) == list(ref)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    want = frame_values(pred, gt, cfg, codes)
    want.update(S.fhr_frame_values(pred, gt.landmarks, codes, gt.frame_indices))
    _assert_close(got, want, f"min_rows={min_rows}")


def test_clip_blocks_hold_whole_clips():
    codes = np.repeat([0, 1, 2, 3, 4], [3, 12, 2, 2, 5])
    blocks = clip_blocks(codes, 4)
    assert [(b.start, b.stop) for b in blocks] == [(0, 15), (15, 19), (19, 24)]
    assert clip_blocks(codes, 100) == [slice(0, 24)]
    assert [(b.start, b.stop) for b in clip_blocks(codes, 1)] == [(0, 3), (3, 15), (15, 17), (17, 19), (19, 24)]
    assert clip_blocks(np.zeros(0, np.int64), 4) == []
