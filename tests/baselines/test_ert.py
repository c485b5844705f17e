"""ERT trained with dlib's trainer on toy shards: finds the landmarks, flip-equivariant, loads what it saved."""

from __future__ import annotations

import pytest

from redbench.baselines import ert

CFG = ert.Config(size=96, cascade_depth=4, num_trees_per_cascade_level=40, oversampling_amount=4, num_threads=1)


def test_trained_on_toy_shards(toy_shards, tmp_path, checks) -> None:
    ert.train(CFG, toy_shards, tmp_path, seed=0)
    import json

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # validated on the held-out person (val_fraction 0.2 of 6): a real NME, better than an untrained guess
    assert 0 < metrics["val_nme_inter_ocular"] < 0.2 and metrics["cost"]["stopped"] == "cap"
    n_images = 5 * 12 * 2  # the 5 training people's frames, mirrored
    assert metrics["cost"]["flops"] == ert.training_flops(n_images * CFG.oversampling_amount, CFG)
    assert (tmp_path / "ert.dat").exists() and (tmp_path / "train_info.json").exists()
    checks.check_method(ert.load(tmp_path, CFG), toy_shards, accuracy=0.08, flip_tol=0.06)


def test_missing_or_bad_model_names_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="ert.dat"):
        ert.load(tmp_path, CFG)
    (tmp_path / "ert.dat").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="ert.dat"):
        ert.load(tmp_path, CFG)
