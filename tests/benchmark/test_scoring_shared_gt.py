"""compare computes the ground truth's normalisers and FHR face sizes once for all methods: the per-frame
values must equal, bit for bit, those of metrics.py / stability.py computed for one method alone."""

from __future__ import annotations

import numpy as np

from redbench.benchmark import metrics as M
from redbench.benchmark import stability as S
from redbench.benchmark.compare import CompareConfig, score_dataset
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.scoring import ScoringConfig, frame_values, gt_normalisers
from redbench.benchmark.store import PredictionMeta, write_predictions


def _gt(rng, n_clips=4, clip_len=9):
    ids = np.repeat([f"300vw/{c:03d}" for c in range(n_clips)], clip_len)
    frames = np.tile(np.arange(clip_len), n_clips)
    lm = rng.uniform(40, 160, (68, 2)) + np.cumsum(rng.normal(0, 1, (len(ids), 1, 2)), axis=0)
    lm = lm + rng.normal(0, 0.5, lm.shape)
    return make_ground_truth("300vw", "synthetic", "m", ids, frames, lm,
                             unreliable=rng.random(len(ids)) < 0.2)


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
    first = codes[1:] == codes[:-1]
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
        assert scores.values[m].keys() == want.keys()
        for k in want:
            np.testing.assert_array_equal(scores.values[m][k], want[k], err_msg=f"{m} {k}")
        np.testing.assert_array_equal(scores.values[m]["fhr_rmse"], S.rmse(pred, gt.landmarks))
