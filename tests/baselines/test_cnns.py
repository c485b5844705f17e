"""The two CNN baselines: coordinate conventions, augmentation, heatmap decoding, and training on a toy problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from redbench.baselines import cnn_regression, heatmap
from redbench.baselines._torch_train import TrainLoop, augment, erase, from_unit, to_unit

TINY_LOOP = TrainLoop(epochs=30, batch_size=16, lr=3e-3, threads=1)
CONFIGS = {
    "cnn_regression": cnn_regression.Config(size=32, widths=(8, 16, 32, 32), loop=TINY_LOOP),
    "heatmap": heatmap.Config(size=32, width=16, stacks=1, depth=2, stride=2, loop=TINY_LOOP),
}


def test_unit_coordinates_round_trip_and_pixel_centres() -> None:
    x = np.array([0.0, 31.0, 15.5])
    np.testing.assert_allclose(to_unit(x, 32), [-1 + 1 / 32, 1 - 1 / 32, 0.0])
    np.testing.assert_allclose(from_unit(to_unit(x, 32), 32), x)


def test_augment_moves_points_with_the_image() -> None:
    # One bright pixel per image at landmark 36, every other landmark NaN; after the random flip/similarity the
    # brightest pixel must be at the one finite landmark (36, or 45 when flipped: the flip relabels sides).
    gen = torch.Generator().manual_seed(0)
    n, s = 16, 64
    pts = np.full((n, 68, 2), np.nan)
    pts[:, 36] = [20.0, 24.0]
    x = torch.zeros(n, 3, s, s)
    x[:, :, 24, 20] = 1.0
    xa, ua = augment(x, torch.from_numpy(to_unit(pts, s)).float(), TrainLoop(rotation=10.0, scale=0.1), gen)
    pa = from_unit(ua.numpy(), s)
    flipped = 0
    for i in range(n):
        finite = [k for k in range(68) if np.isfinite(pa[i, k]).all()]
        assert finite in ([36], [45])
        flipped += finite == [45]
        y, x_ = np.unravel_index(xa[i, 0].argmax().item(), (s, s))
        assert np.linalg.norm(pa[i, finite[0]] - [x_, y]) <= 1.0
    assert 0 < flipped < n


@pytest.mark.parametrize("cx,cy", [(7.3, 5.8), (3.5, 10.2), (12.0, 12.0)])
def test_heatmap_decode_is_sub_pixel(cx: float, cy: float) -> None:
    u = torch.tensor([[[(2 * cx + 1) / 16 - 1, (2 * cy + 1) / 16 - 1]]]).repeat(1, 68, 1)
    hm = heatmap.gaussian_targets(u.double(), 16, sigma=1.0)  # (1, 68, 16, 16)
    p = heatmap.decode(hm)[0, 0].numpy()
    assert np.abs(p - [cx, cy]).max() < 0.12  # a parabola fitted to a Gaussian: ~0.1 px bias at most


def test_soft_argmax_of_a_peaked_map_is_its_pixel_centre() -> None:
    maps = torch.full((1, 68, 8, 8), -1e4)
    maps[0, :, 2, 5] = 0.0  # all mass at x = 5, y = 2
    u = heatmap.soft_argmax(maps)[0, 0].numpy()
    np.testing.assert_allclose(u, [(2 * 5 + 1) / 8 - 1, (2 * 2 + 1) / 8 - 1], atol=1e-6)
    maps[0, :, 2, 6] = 0.0  # split between x = 5 and 6: the expectation is between
    np.testing.assert_allclose(heatmap.soft_argmax(maps)[0, 0, 0].item(), (2 * 5.5 + 1) / 8 - 1, atol=1e-6)


@pytest.mark.parametrize("name", ["cnn_regression", "heatmap"])
def test_trained_on_toy_shards(name: str, toy_shards, tmp_path, checks) -> None:
    module, cfg = {"cnn_regression": cnn_regression, "heatmap": heatmap}[name], CONFIGS[name]
    module.train(cfg, toy_shards, tmp_path, seed=0, val_fraction=0.0)  # all 6 people: the accuracy bar below
    method = module.load(tmp_path, cfg)
    assert method.name == name
    checks.check_method(method, toy_shards, accuracy=0.10, flip_tol=0.08)
    clip = checks.first_test_clip(toy_shards)
    # Deterministic inference, and the batch does not change a frame's answer (eval-mode batch norm).
    boxes = clip.boxes["gt"].astype(np.float64)
    a = method.predict(clip.crops, boxes)
    np.testing.assert_allclose(method.predict(clip.crops[:3], boxes[:3]), a[:3], atol=1e-4)


def test_weights_of_another_config_are_refused(toy_shards, tmp_path) -> None:
    cfg = CONFIGS["cnn_regression"]
    model = cnn_regression.CoordResNet(cfg.widths, np.zeros((68, 2)))
    from redbench.baselines._torch_train import save_model

    save_model(model, tmp_path / cnn_regression.MODEL_FILE, {})
    with pytest.raises(ValueError, match="cnn_regression.pt"):
        cnn_regression.load(tmp_path, cnn_regression.Config(widths=(8, 16, 32, 64), loop=TINY_LOOP))


def test_training_protocol_holds_out_people_stops_and_records_its_cost(toy_shards, tmp_path) -> None:
    import dataclasses
    import json

    from redbench.baselines.train_frames import validation_split
    from redbench.methods.convergence import StopRule

    train_ids, val_ids = validation_split(toy_shards, 0.34)
    assert len(val_ids) == 2 and not train_ids & val_ids
    loop = dataclasses.replace(TINY_LOOP, epochs=12, stop=StopRule(patience=1, min_delta=0.5, lr_decays=0))
    cfg = dataclasses.replace(CONFIGS["cnn_regression"], loop=loop)
    cnn_regression.train(cfg, toy_shards, tmp_path, seed=0, val_fraction=0.34)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    log = (tmp_path / "train_log.csv").read_text().splitlines()
    # min_delta 0.5: only a halving of the validation NME counts, so the plateau stops training early
    assert metrics["cost"]["stopped"] == "plateau" and metrics["epochs"] < 12 and len(log) == 1 + metrics["epochs"]
    info = json.loads((tmp_path / "train_info.json").read_text())
    assert info["n_frames"] == 4 * 12  # the 4 training people's clips only (12 frames each)
    steps = metrics["cost"]["steps"]
    assert steps == metrics["epochs"] * 3 and metrics["cost"]["frames_seen"] == metrics["epochs"] * 48
    assert info["cost"]["flops"] == metrics["cost"]["flops"] > 0


def test_random_erasing_covers_one_rectangle_of_the_stated_size_with_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.full((200, 3, 40, 50), 0.5)
    out = erase(x, 1.0, gen)
    changed = (out != x).any(1)  # (B, s, s): the noise never equals 0.5 exactly
    for mask in changed:
        ys, xs = np.nonzero(mask.numpy())
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert len(ys) == h * w  # one filled rectangle
        assert 0.02 * 2000 * 0.7 <= h * w <= 0.33 * 2000 * 1.3  # 2-33 % of the area, up to rounding and clipping
    areas = changed.sum((1, 2)).float() / 2000
    assert 0.12 < areas.mean() < 0.22  # uniform over 2-33 %: mean 17.5 %
    noise = out[changed[:, None].expand_as(out)]
    assert 0.45 < noise.mean() < 0.55 and noise.min() >= 0 and noise.max() < 1
    assert torch.equal(erase(x, 0.0, gen), x)
    hit = (erase(x, 0.5, torch.Generator().manual_seed(1)) != x).flatten(1).any(1).float().mean()
    assert 0.35 < hit < 0.65


def test_training_with_random_erasing_differs_and_without_it_repeats(toy_shards, tmp_path) -> None:
    import dataclasses

    def weights(erasing: float, folder: str) -> bytes:
        cfg = dataclasses.replace(CONFIGS["cnn_regression"],
                                  loop=dataclasses.replace(TINY_LOOP, epochs=2, erasing=erasing))
        cnn_regression.train(cfg, toy_shards, tmp_path / folder, seed=0, val_fraction=0.0)
        return (tmp_path / folder / cnn_regression.MODEL_FILE).read_bytes()

    plain = weights(0.0, "a")
    assert weights(0.0, "b") == plain and weights(0.5, "c") != plain
