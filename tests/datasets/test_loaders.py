"""Loaders: geometry of the model-input crop, clip-consistent augmentation, workers, identity splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.fake import make_fake_shards
from redbench.datasets.geometry import apply_affine
from redbench.datasets.loaders import (AugmentConfig, ClipDataset, FrameDataset, finish_images, pad_collate,
                                      split_by_identity)
from redbench.datasets.shards import ShardReader
from redbench.landmarks import flip_permutation


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return make_fake_shards(tmp_path_factory.mktemp("shards"), n_clips=6, n_frames=12, crop_size=64, seed=0,
                            n_identities=3)


def _orig(m, clip_index, ds, start, stop):
    pi, ci = ds.clips[clip_index][:2]
    with ShardReader(ds.paths[pi]) as r:
        return r.read_clip(ci, start, stop)


def _back_to_orig(sample):
    lm = apply_affine(sample["landmarks"].numpy().astype(np.float64), sample["input_to_orig"].numpy())
    return lm[..., flip_permutation(), :] if sample["flipped"] else lm


def test_eval_clip_is_whole_and_maps_back_to_original(shards):
    ds = ClipDataset(shards.paths("test"), clip_len=4, input_size=48, train=False)
    s = ds[1]
    assert s["image"].shape == (12, 3, 48, 48) and s["image"].dtype == torch.uint8 and "colour" not in s
    image = finish_images(s["image"], s.get("colour"))
    assert image.dtype == torch.float32 and 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert s["start"] == 0 and s["frame_index"].tolist() == list(range(12))
    c = _orig(shards, 1, ds, 0, 12)
    np.testing.assert_allclose(_back_to_orig(s), c.landmarks_orig, atol=1e-3)
    # gt box, box_scale 1: the square box spans the input, so landmarks span most of it.
    lm = s["landmarks"].numpy()
    assert lm.min() > -1.0 and lm.max() < 48.0 and np.ptp(lm[..., 0], axis=1).min() > 30


def test_box_scale_shrinks_the_face(shards):
    a = ClipDataset(shards.paths("test"), 4, 48, box_scale=1.0, train=False)[0]["landmarks"].numpy()
    b = ClipDataset(shards.paths("test"), 4, 48, box_scale=2.0, train=False)[0]["landmarks"].numpy()
    centre = 47 / 2
    np.testing.assert_allclose(b - centre, (a - centre) / 2, atol=1e-3)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), item=st.integers(0, 3))
def test_augmented_training_window_maps_back(shards, seed, item):
    ds = ClipDataset(shards.paths("train"), clip_len=5, input_size=40, augment=AugmentConfig(rotate_deg=20),
                     seed=seed, box="gt_jitter")
    s = ds[item]
    assert s["image"].shape == (5, 3, 40, 40)
    c = _orig(shards, item, ds, s["start"], s["start"] + 5)
    np.testing.assert_allclose(_back_to_orig(s), c.landmarks_orig, atol=1e-3)
    occ = c.occluded[:, flip_permutation()] if s["flipped"] else c.occluded
    np.testing.assert_array_equal(s["occluded"].numpy(), occ)


def test_augmentation_is_identical_across_the_clip(shards):
    # input_to_orig = C_t o B_t^-1 without augmentation and C_t o B_t^-1 o G^-1 with it, so
    # plain_t^-1 o aug_t = G^-1 must be the same affine for every frame (one draw per clip), and not identity.
    from redbench.datasets.geometry import compose_affine, invert_affine

    plain = ClipDataset(shards.paths("train"), 6, 40, seed=5)[2]
    aug = ClipDataset(shards.paths("train"), 6, 40, seed=5, augment=AugmentConfig(flip=0.0))[2]
    assert plain["start"] == aug["start"]
    g_inv = compose_affine(invert_affine(plain["input_to_orig"].numpy()), aug["input_to_orig"].numpy())  # (T, 2, 3)
    np.testing.assert_allclose(g_inv, np.broadcast_to(g_inv[0], g_inv.shape), atol=1e-3)
    assert np.abs(g_inv[0] - np.eye(2, 3)).max() > 1e-3
    assert not torch.equal(plain["image"], aug["image"])


def test_seeded_and_epoch_dependent(shards):
    cfg = AugmentConfig()
    a = ClipDataset(shards.paths("train"), 5, 32, augment=cfg, seed=7)
    b = ClipDataset(shards.paths("train"), 5, 32, augment=cfg, seed=7)
    assert torch.equal(a[0]["image"], b[0]["image"])
    b.set_epoch(1)
    assert not torch.equal(a[0]["image"], b[0]["image"])


def test_flip_relabels_left_and_right(shards):
    ds = ClipDataset(shards.paths("train"), 4, 48, augment=AugmentConfig(flip=1.0, rotate_deg=0, scale=0,
                                                                          shift=0), seed=0)
    s = ds[0]
    assert s["flipped"]
    lm = s["landmarks"].numpy()
    # After a flip the subject's right eye (36-41) must still be on the image left of the left eye (42-47).
    assert (lm[:, 36:42, 0].mean(1) < lm[:, 42:48, 0].mean(1)).all()


def test_dataloader_workers_and_pad_collate(shards):
    ds = ClipDataset(shards.paths("train"), 8, 32, augment=AugmentConfig(), seed=0)
    dl = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    batches = list(dl)
    assert len(batches) == 2 and batches[0]["image"].shape == (2, 8, 3, 32, 32)
    for k, b in enumerate(batches):  # a batch through worker processes finishes as its samples do, one by one
        alone = torch.stack([finish_images(ds[i]["image"], ds[i]["colour"]) for i in (2 * k, 2 * k + 1)])
        assert torch.equal(finish_images(b["image"], b["colour"]), alone)
    ds[0]  # opens a handle in this process; the dataset must still pickle into workers
    assert len(list(torch.utils.data.DataLoader(ds, batch_size=4, num_workers=1))) == 1
    ev = ClipDataset(shards.paths("test"), 8, 32, train=False)
    b = pad_collate([ev[0], ev[1]])
    assert b["image"].shape == (2, 12, 3, 32, 32) and b["mask"].all()
    assert b["identity"].shape == (2,)


def test_pad_collate_masks_short_clips():
    mk = lambda t: {"image": torch.ones(t, 3, 4, 4), "identity": torch.tensor(1), "start": 0}  # noqa: E731
    b = pad_collate([mk(2), mk(3)])
    assert b["mask"].tolist() == [[True, True, False], [True, True, True]]
    assert float(b["image"][0, 2].abs().sum()) == 0.0


def test_frame_dataset_covers_every_frame_in_order(shards):
    fd = FrameDataset(shards.paths("test"), 32, train=False)
    assert len(fd) == 2 * 12
    s = fd[13]
    assert s["image"].shape == (3, 32, 32) and s["landmarks"].shape == (68, 2)
    assert (s["clip_index"], s["start"], int(s["frame_index"])) == (1, 1, 1)


def test_identity_classes_and_filter(shards):
    ds = ClipDataset(shards.paths("train"), 4, 32)
    assert ds.identity_names == ["300vw/id000", "300vw/id001", "300vw/id002"]
    assert [int(ds[i]["identity"]) for i in range(len(ds))] == [0, 1, 2, 0]
    train_ids, val_ids = split_by_identity(ds.identity_names, 0.34, seed=0)
    sub = ClipDataset(shards.paths("train"), 4, 32, identities=val_ids)
    assert {sub.clips[i][4] for i in range(len(sub))} == set(val_ids)
    assert sub.identity_names == ds.identity_names  # class ids agree between train and validation


def test_short_clips_are_skipped_for_training(shards):
    assert len(ClipDataset(shards.paths("train"), 13, 32)) == 0
    assert len(ClipDataset(shards.paths("train"), 13, 32, train=False)) == 4


def test_tracking_box_is_not_a_loader_box(shards):
    with pytest.raises(ValueError, match="tracking starts from boxes"):
        ClipDataset(shards.paths("train"), 4, 32, box="tracking")


@given(names=st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=30),
       frac=st.floats(0.0, 0.9), seed=st.integers(0, 100))
def test_split_by_identity_is_a_disjoint_partition(names, frac, seed):
    train, val = split_by_identity(names, frac, seed)
    assert train | val == set(names) and not (train & val)
    k = len(set(names))
    if frac > 0 and k >= 2:
        assert 1 <= len(val) <= k - 1
    if frac == 0:
        assert not val
    assert split_by_identity(list(reversed(names)), frac, seed) == (train, val)


@pytest.mark.parametrize("box, scale, size", [("gt", 1.25, 64), ("gt_jitter", 1.0, 48), ("detector", 1.4, 40)])
def test_loader_crops_are_the_prediction_adapter_crops(shards, box, scale, size):
    # RED trains on these samples and predicts through input_crop.square_crop: both must give the same pixels.
    from redbench.datasets.input_crop import square_crop, to_input

    ds = ClipDataset(shards.paths("test"), 4, size, box=box, box_scale=scale, train=False)
    s = ds[0]
    c = _orig(shards, 0, ds, 0, 12)
    images, affines = square_crop(c.crops, c.boxes[box], scale, size)
    np.testing.assert_array_equal(s["image"].numpy(), images.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(finish_images(s["image"], None).numpy(),
                                  images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    np.testing.assert_array_equal(s["landmarks"].numpy(), to_input(c.landmarks, affines).astype(np.float32))


def _old_worker_images(image: torch.Tensor, factors: list[float] | None) -> torch.Tensor:
    """The float images as the loader's workers made them before finish_images, written out independently: a
    numpy float copy of the uint8 crops (channels-last memory), / 255, then brightness, contrast, saturation."""
    hwc = image.movedim(-3, -1).numpy().reshape(-1, *image.shape[-2:], 3)  # (T, s, s, 3) uint8
    x = torch.from_numpy(hwc.transpose(0, 3, 1, 2).astype(np.float32)).div_(255.0)
    if factors is not None:
        b, c, s = factors
        x = x.mul_(b)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = x.sub_(mean).mul_(c).add_(mean)
        gray = torch.einsum("tchw,c->thw", x, torch.tensor([0.299, 0.587, 0.114])).unsqueeze(1)
        x = x.sub_(gray).mul_(s).add_(gray).clamp_(0.0, 1.0)
    return x.view(image.shape)


def _replayed_colour(cfg: AugmentConfig, seed: int, item: int, window: tuple[int, int] | None) -> list[float]:
    """The colour factors a sample must carry: its rng's draws in the loader's order (window start, rotation,
    scale, shift, flip, then brightness, contrast, saturation)."""
    rng = np.random.default_rng([seed, 0, item])
    if window is not None:
        n_frames, clip_len = window
        rng.integers(0, n_frames - clip_len + 1)
    rng.uniform(-cfg.rotate_deg, cfg.rotate_deg), rng.uniform(1 - cfg.scale, 1 + cfg.scale)
    rng.uniform(-cfg.shift, cfg.shift, 2), rng.random()
    return [rng.uniform(1 - v, 1 + v) for v in (cfg.brightness, cfg.contrast, cfg.saturation)]


@pytest.mark.parametrize("size, clip_len", [(40, 5), (128, 4)])  # 128: each frame's mean sums > 32768 values
def test_finished_images_are_the_old_worker_images_bit_for_bit(shards, size, clip_len):
    cfg = AugmentConfig()
    aug = ClipDataset(shards.paths("train"), clip_len, size, augment=cfg, seed=11)
    plain = ClipDataset(shards.paths("train"), clip_len, size, seed=11)
    for item in range(len(aug)):
        s = aug[item]
        assert s["image"].dtype == torch.uint8 and s["image"].shape == (clip_len, 3, size, size)
        factors = _replayed_colour(cfg, 11, item, (12, clip_len))
        assert s["colour"].dtype == torch.float64 and s["colour"].tolist() == factors  # the exact drawn floats
        assert torch.equal(finish_images(s["image"], s["colour"]), _old_worker_images(s["image"], factors))
        p = plain[item]
        assert "colour" not in p
        assert torch.equal(finish_images(p["image"], None), _old_worker_images(p["image"], None))


def test_finished_frames_are_the_old_worker_frames_bit_for_bit(shards):
    cfg = AugmentConfig()
    fd = FrameDataset(shards.paths("train"), 40, augment=cfg, seed=2)
    items = [0, 5, 13, 30]
    samples = [fd[i] for i in items]
    for i, s in zip(items, samples):  # a frame is jittered as a clip of one frame
        assert s["image"].shape == (3, 40, 40) and s["colour"].shape == (3,)
        factors = _replayed_colour(cfg, 2, i, None)
        assert torch.equal(finish_images(s["image"], s["colour"]), _old_worker_images(s["image"], factors))
    batch = torch.utils.data.default_collate(samples)
    assert torch.equal(finish_images(batch["image"], batch["colour"]),
                       torch.stack([finish_images(s["image"], s["colour"]) for s in samples]))


def test_pad_collate_batches_finish_like_their_clips_with_padding_zero(shards):
    ds = ClipDataset(shards.paths("train"), 6, 40, augment=AugmentConfig(), seed=1)

    def cut(s, t):  # a shorter clip: every time-indexed tensor to t frames
        return {k: v[:t] if isinstance(v, torch.Tensor) and v.ndim and k != "colour" else v for k, v in s.items()}

    clips = [cut(ds[0], 4), ds[1], cut(ds[2], 2)]
    b = pad_collate(clips)
    assert b["image"].dtype == torch.uint8 and b["colour"].shape == (3, 3)
    images = finish_images(b["image"], b["colour"])
    for k, c in enumerate(clips):
        t = len(c["image"])
        assert torch.equal(images[k, :t], finish_images(c["image"], c["colour"]))
    # the padded frames (mask False) are exactly zero after the jitter too: each op keeps a black frame black
    assert b["mask"].sum(1).tolist() == [4, 6, 2] and float(images[~b["mask"]].abs().sum()) == 0.0


def test_finish_images_passes_float_images_and_refuses_mismatched_colour():
    x = torch.rand(2, 3, 4, 4)
    assert finish_images(x, None) is x  # in-memory datasets (red.toy.ToyClips) give float images
    with pytest.raises(ValueError, match="only uint8 images"):
        finish_images(x, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="does not match the clips"):
        finish_images(torch.zeros(2, 4, 3, 4, 4, dtype=torch.uint8), torch.ones(3, 3, dtype=torch.float64))
