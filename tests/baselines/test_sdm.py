"""SDM: descent stages reduce the error; trained on toy shards it finds the landmarks and is flip-equivariant."""

from __future__ import annotations

import numpy as np

from redbench.baselines import sdm
from redbench.baselines.mean_shape import Config as MeanConfig, load as load_mean, train as train_mean

CFG = sdm.Config(size=64, cell=8, stages=2, perturbations=3)


def test_ridge_solve_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(200, 5)), np.ones((200, 1))], axis=1)
    W = rng.normal(size=(6, 3))
    np.testing.assert_allclose(sdm.ridge_solve(X.T @ X, X.T @ (X @ W), 1e-12), W, atol=1e-6)
    # Strong ridge shrinks the weights but not the bias: the fit tends to the mean of Y.
    Y = X @ W
    W_big = sdm.ridge_solve(X.T @ X, X.T @ Y, 1e6)
    np.testing.assert_allclose(X @ W_big, np.broadcast_to(Y.mean(0), Y.shape), atol=1e-3)


def test_trained_on_toy_shards(toy_shards, tmp_path, checks) -> None:
    sdm.train(CFG, toy_shards, tmp_path / "sdm", seed=0)
    method = sdm.load(tmp_path / "sdm", CFG)
    checks.check_method(method, toy_shards, accuracy=0.06, flip_tol=0.04)
    # Better than the mean shape placed in the same boxes (the floor).
    train_mean(MeanConfig(), toy_shards, tmp_path / "mean", seed=0)
    clip = checks.first_test_clip(toy_shards)
    boxes = clip.boxes["gt"].astype(np.float64)
    floor = checks.nme(load_mean(tmp_path / "mean", MeanConfig()).predict_clip(clip.crops, boxes, False),
                       clip.landmarks)
    assert checks.nme(method.predict_clip(clip.crops, boxes, False), clip.landmarks) < 0.7 * floor


def test_stage_count_is_chosen_on_held_out_people_and_the_cost_recorded(toy_shards, tmp_path) -> None:
    import json

    from redbench.methods.convergence import StopRule

    cfg = sdm.Config(size=64, cell=8, stages=6, perturbations=2, stop=StopRule(patience=1, min_delta=0.3, lr_decays=0))
    sdm.train(cfg, toy_shards, tmp_path, seed=0, val_fraction=0.34)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    rows = (tmp_path / "train_log.csv").read_text().splitlines()[1:]
    # min_delta 0.3: a stage must cut the validation NME by 30 % to count, so the cascade stops early
    assert metrics["cost"]["stopped"] == "plateau" and len(rows) < 6
    kept = sdm.load(tmp_path, cfg).stages
    assert len(kept) == metrics["best_epoch"] == metrics["cost"]["extra"]["stages_kept"]
    n_samples = 4 * 12 * 2 * 2  # 4 training people x 12 frames, mirrored, 2 perturbations each
    assert metrics["cost"]["flops"] == len(rows) * sdm.stage_flops(n_samples, 4 * 12 * 2, cfg)
