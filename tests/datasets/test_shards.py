"""Shard schema, writer and reader: round trips, rotation, determinism, refusal of corrupted files."""

from __future__ import annotations

import json
import pickle

import h5py
import numpy as np
import pytest

from redbench.datasets.fake import fake_clip, make_fake_shards, template_2d
from redbench.datasets.shard_writer import ShardFormat, ShardSetWriter
from redbench.datasets.shards import (
    BOX_NAMES, FRAME_FIELDS, ClipRecord, ShardError, ShardReader, load_manifest,
)
from redbench.landmarks import flip_permutation


def _blocks(clip, size):
    for i in range(0, len(clip), size):
        yield type(clip).from_fields({n: clip.field(n)[i:i + size] for n in FRAME_FIELDS})


def _write(tmp_path, clips, fmt, split="train"):
    with ShardSetWriter(tmp_path, "300vw", "synthetic", fmt) as w:
        for k, c in enumerate(clips):
            rec = ClipRecord(f"300vw/{k:03d}", k, f"person{k}", split, "train", len(c))
            w.write_clip(rec, _blocks(c, 5))
        w.finish([f"person{k}" for k in range(len(clips))], {})
    return load_manifest(tmp_path)


@pytest.mark.parametrize("compression", ["none", "lzf", "gzip"])
def test_round_trip_every_field(tmp_path, compression):
    rng = np.random.default_rng(0)
    clips = [fake_clip(n, 32, rng) for n in (7, 12, 3)]
    m = _write(tmp_path, clips, ShardFormat(crop_size=32, compression=compression))
    assert [s.path for s in m.shards] == ["train-000.h5"]
    with m.open(m.shards[0]) as r:
        assert [c.n_frames for c in r.clips] == [7, 12, 3]
        assert [c.identity_name for c in r.clips] == ["person0", "person1", "person2"]
        for i, clip in enumerate(clips):
            got = r.read_clip(i)
            for name in FRAME_FIELDS:
                np.testing.assert_array_equal(got.field(name), clip.field(name), err_msg=name)
        part = r.read_clip(1, 4, 9)
        np.testing.assert_array_equal(part.crops, clips[1].crops[4:9])
        np.testing.assert_array_equal(part.boxes["detector"], clips[1].boxes["detector"][4:9])
        with pytest.raises(IndexError, match="outside clip"):
            r.read_clip(0, 5, 8)


def test_rotation_keeps_clips_whole_and_counts(tmp_path):
    rng = np.random.default_rng(1)
    clips = [fake_clip(10, 32, rng) for _ in range(5)]
    # 10 frames of 32x32x3 = 0.029 MB: a 0.05 MB limit closes a shard after every second clip.
    m = _write(tmp_path, clips, ShardFormat(crop_size=32, shard_mb=0.05))
    assert [s.path for s in m.shards] == ["train-000.h5", "train-001.h5", "train-002.h5"]
    assert [s.n_clips for s in m.shards] == [2, 2, 1]
    assert [s.n_frames for s in m.shards] == [20, 20, 10]
    assert m.info["counts"] == {"train": {"shards": 3, "clips": 5, "frames": 50}}
    with ShardReader(m.paths("train")[2]) as r:
        np.testing.assert_array_equal(r.read_clip(0).landmarks, clips[4].landmarks)
    obj = json.loads((tmp_path / "manifest.json").read_text())
    assert obj["schema_version"] == 1 and obj["identities"][4] == "person4"


@pytest.mark.parametrize("compression", ["none", "gzip"])  # not lzf: see docs/shards.md
def test_output_is_byte_identical_across_runs(tmp_path, compression):
    a = make_fake_shards(tmp_path / "a", n_clips=4, n_frames=6, crop_size=32, seed=3, compression=compression)
    b = make_fake_shards(tmp_path / "b", n_clips=4, n_frames=6, crop_size=32, seed=3, compression=compression)
    assert [s.sha256 for s in a.shards] == [s.sha256 for s in b.shards]
    assert a.sha256 == b.sha256
    c = make_fake_shards(tmp_path / "c", n_clips=4, n_frames=6, crop_size=32, seed=4)
    assert [s.sha256 for s in a.shards] != [s.sha256 for s in c.shards]


def test_exception_leaves_no_partial_files_and_no_manifest(tmp_path):
    rng = np.random.default_rng(2)
    clip = fake_clip(6, 32, rng)

    def failing_blocks():
        yield from _blocks(clip, 3)
        raise RuntimeError("decoder died")

    with pytest.raises(RuntimeError, match="decoder died"):
        with ShardSetWriter(tmp_path, "tf", "real", ShardFormat(crop_size=32)) as w:
            w.write_clip(ClipRecord("tf/a", 0, "a", "test", "tf", 6), _blocks(clip, 3))
            w.write_clip(ClipRecord("tf/b", 0, "a", "test", "tf", 12), failing_blocks())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_frame_count_mismatch_is_refused(tmp_path):
    clip = fake_clip(4, 32, np.random.default_rng(0))
    with pytest.raises(ValueError, match="record says 5 frames, got 4"):
        with ShardSetWriter(tmp_path, "tf", "real", ShardFormat(crop_size=32)) as w:
            w.write_clip(ClipRecord("tf/a", 0, "a", "test", "tf", 5), [clip])


def test_wrong_crop_size_is_refused(tmp_path):
    clip = fake_clip(2, 32, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"crops: expected \(2, 64, 64, 3\)"):
        with ShardSetWriter(tmp_path, "tf", "real", ShardFormat(crop_size=64)) as w:
            w.write_clip(ClipRecord("tf/a", 0, "a", "test", "tf", 2), [clip])


def test_wrong_schema_version_is_refused(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16)
    path = m.paths("train")[0]
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(ShardError, match=r"train-000\.h5: shard schema version 99, this redbench reads version 1"):
        ShardReader(path)


def test_truncated_shard_is_refused(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16)
    path = m.paths("train")[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardError, match=r"train-000\.h5: not a readable HDF5 shard"):
        ShardReader(path)


def test_flipped_bytes_fail_the_checksum_when_opened_via_manifest(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16)
    path = m.paths("test")[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=r"test-000\.h5: sha256 mismatch"):
        m.open(m.entries("test")[0], verify=True)
    with pytest.raises(ShardError, match="sha256 mismatch"):
        load_manifest(tmp_path, verify=True)


def test_missing_listed_shard_and_bad_manifest(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16)
    m.paths("train")[0].unlink()
    with pytest.raises(ShardError, match="missing"):
        m.verify()
    (tmp_path / "manifest.json").write_text('{"schema_version": 1}')
    with pytest.raises(ShardError, match="not a valid shard manifest"):
        load_manifest(tmp_path)
    with pytest.raises(FileNotFoundError, match="no manifest"):
        load_manifest(tmp_path / "nowhere")


def test_open_reader_is_not_picklable(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16)
    with ShardReader(m.paths("train")[0]) as r:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(r)


def test_fake_shards_are_plausible_faces(tmp_path):
    m = make_fake_shards(tmp_path, n_clips=3, n_frames=5, crop_size=64, seed=0, n_identities=2)
    assert m.data_source == "synthetic" and m.identities == ("300vw/id000", "300vw/id001")
    with m.open(m.shards[0]) as r:
        c = r.read_clip(0)
        assert [rec.identity for rec in r.clips] == [0, 1]
    # Landmarks lie inside the crop and inside their gt box; dots are drawn white at the landmark pixels.
    assert (c.landmarks > 0).all() and (c.landmarks < 63).all()
    gt = c.boxes["gt"]
    assert (c.landmarks[..., 0] >= gt[:, None, 0] - 1e-3).all() and (c.landmarks[..., 1] <= gt[:, None, 3] + 1e-3).all()
    xy = np.rint(c.landmarks[0]).astype(int)
    assert (c.crops[0, xy[:, 1], xy[:, 0]] == 255).all()
    assert set(BOX_NAMES) == set(c.boxes)


def test_template_is_mirror_symmetric():
    t = template_2d()
    mirrored = t * [-1, 1]
    np.testing.assert_allclose(mirrored[flip_permutation()], t, atol=1e-12)
    assert t[36, 0] < t[39, 0] < t[42, 0] < t[45, 0]  # right eye outer, inner; left eye inner, outer
    assert t[8, 1] == t[:, 1].max()  # chin lowest
