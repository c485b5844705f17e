"""One NME: the scorer (benchmark/scoring.py) and RED's validation (red/infer.py) give what
redbench.metrics.nme gives, for every normaliser and point set they report."""

from __future__ import annotations

import numpy as np
import pytest

from redbench import metrics as M
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.scoring import ScoringConfig, frame_values
from redbench.landmarks import COARSE_GROUPS, RED_DEMO_POINTS


def _pair(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(20, 100, (n, 68, 2))
    return gt + rng.normal(0, 3, gt.shape), gt


def test_nme_of_point_errors_is_the_mean_over_the_point_set() -> None:
    e = np.tile(np.arange(68, dtype=float), (2, 1))  # point i has error i
    np.testing.assert_allclose(M.nme_of_point_errors(e), [33.5, 33.5])
    np.testing.assert_allclose(M.nme_of_point_errors(e, [0, 10]), [5.0, 5.0])
    np.testing.assert_allclose(M.nme_of_point_errors(e, 51), [np.mean(np.arange(17, 68))] * 2)


def test_scoring_reports_metrics_nme_for_every_variant() -> None:
    pred, g = _pair()
    gt = make_ground_truth("300vw", "synthetic", "h", ["a"] * 3 + ["b"] * 3, [0, 1, 2, 0, 1, 2], g)
    cfg = ScoringConfig()
    v = frame_values(pred, gt, cfg, gt.clip_codes()[0])
    np.testing.assert_allclose(v["nme"], M.nme(pred, g, cfg.norm, cfg.points), rtol=1e-12)
    for norm in cfg.variant_norms:
        for points in cfg.variant_points:
            np.testing.assert_allclose(v[f"nme[{norm},{points}]"], M.nme(pred, g, norm, points), rtol=1e-12)
    groups = M.group_nme(pred, g, cfg.norm)
    for name in COARSE_GROUPS:
        np.testing.assert_allclose(v[f"group/{name}"], groups[name], rtol=1e-12)


@pytest.mark.parametrize("points", [tuple(range(68)), tuple(RED_DEMO_POINTS)], ids=["68", "demo7"])
def test_red_validation_nme_is_metrics_nme(points) -> None:
    from redbench.red.infer import nme_inter_ocular

    pred, g = _pair(seed=1)
    idx = list(points)
    want = M.nme(pred, g, "inter_ocular", idx)  # 68-point arrays scored on the model's points
    np.testing.assert_allclose(nme_inter_ocular(pred[:, idx], g[:, idx], points), want, rtol=1e-12)
    # by hand: mean point error over the model's points / outer-eye-corner distance
    d = np.linalg.norm(g[:, 36] - g[:, 45], axis=-1)
    np.testing.assert_allclose(want, np.linalg.norm(pred[:, idx] - g[:, idx], axis=-1).mean(-1) / d)


def test_red_validation_needs_the_eye_corners() -> None:
    from redbench.red.infer import nme_inter_ocular

    pred, g = _pair()
    with pytest.raises(ValueError, match="outer eye corners"):
        nme_inter_ocular(pred[:, :10], g[:, :10], tuple(range(10)))
