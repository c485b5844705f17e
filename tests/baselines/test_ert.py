"""ERT trained with dlib's trainer on toy shards: finds the landmarks, flip-equivariant, loads what it saved."""

from __future__ import annotations

import pytest

from redbench.baselines import ert

CFG = ert.Config(size=96, cascade_depth=4, num_trees_per_cascade_level=40, oversampling_amount=4, num_threads=1)


def test_trained_on_toy_shards(toy_shards, tmp_path, checks) -> None:
    ert.train(CFG, toy_shards, tmp_path, seed=0)
    assert (tmp_path / "ert.dat").exists() and (tmp_path / "train_info.json").exists()
    checks.check_method(ert.load(tmp_path, CFG), toy_shards, accuracy=0.08, flip_tol=0.06)


def test_missing_or_bad_model_names_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="ert.dat"):
        ert.load(tmp_path, CFG)
    (tmp_path / "ert.dat").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="ert.dat"):
        ert.load(tmp_path, CFG)
