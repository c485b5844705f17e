"""Loaders: geometry of the model-input crop, clip-consistent augmentation, workers, identity splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.fake import make_fake_shards
from redbench.datasets.geometry import apply_affine
from redbench.datasets.loaders import AugmentConfig, ClipDataset, FrameDataset, pad_collate, split_by_identity
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
    assert s["image"].shape == (12, 3, 48, 48) and s["image"].dtype == torch.float32
    assert 0.0 <= float(s["image"].min()) and float(s["image"].max()) <= 1.0
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
    # RED trains on these samples and predicts through boxes.square_crop: both must give the same pixels.
    from redbench.datasets.boxes import square_crop, to_input

    ds = ClipDataset(shards.paths("test"), 4, size, box=box, box_scale=scale, train=False)
    s = ds[0]
    c = _orig(shards, 0, ds, 0, 12)
    images, affines = square_crop(c.crops, c.boxes[box], scale, size)
    np.testing.assert_array_equal(s["image"].numpy(), images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    np.testing.assert_array_equal(s["landmarks"].numpy(), to_input(c.landmarks, affines).astype(np.float32))
