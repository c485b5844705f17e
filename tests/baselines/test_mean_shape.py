"""mean_shape: the box-normalised mean, placed in the box; exact flip equivariance."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.baselines import mean_shape
from redbench.landmarks import flip_points


def test_fit_hand_computed() -> None:
    # Two shapes in boxes of different sizes with the same box-normalised shape u -> mean = u.
    u = np.random.default_rng(0).random((68, 2))
    boxes = np.array([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 45.0, 25.0]])
    points = boxes[:, None, :2] + u * (boxes[:, None, 2:] - boxes[:, None, :2])
    np.testing.assert_allclose(mean_shape.fit(points, boxes, symmetric=False), u)
    sym = mean_shape.fit(points, boxes, symmetric=True)
    np.testing.assert_allclose(sym, (u + mean_shape.mirror_in_box(u)) / 2)
    np.testing.assert_allclose(mean_shape.mirror_in_box(sym), sym)


def test_train_predict_on_toy_shards(toy_shards, tmp_path, checks) -> None:
    mean_shape.train(mean_shape.Config(), toy_shards, tmp_path, seed=0)
    method = mean_shape.load(tmp_path, mean_shape.Config())
    clip = checks.first_test_clip(toy_shards)
    boxes = clip.boxes["gt"].astype(np.float64)
    pred = method.predict_clip(clip.crops, boxes, False)
    assert pred.shape == (len(clip), 68, 2)
    # Crop coords: every point lies in its box (the toy gt box is the landmarks' box, squared).
    assert np.all(pred >= boxes[:, None, :2] - 1e-9) and np.all(pred <= boxes[:, None, 2:] + 1e-9)
    assert checks.nme(pred, clip.landmarks) < 0.15
    # Exact flip equivariance of the symmetrised mean.
    s = clip.crops.shape[1]
    flipped = method.predict_clip(clip.crops[:, :, ::-1], checks.flip_box(boxes, s), False)
    np.testing.assert_allclose(flipped, flip_points(pred, s), atol=1e-9)


def test_load_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="mean_shape.npz"):
        mean_shape.load(tmp_path, mean_shape.Config())
    (tmp_path / "mean_shape.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="mean_shape.npz"):
        mean_shape.load(tmp_path, mean_shape.Config())
