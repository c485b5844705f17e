"""Preprocess with a pool of worker processes writes the same bytes as one process."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from redbench.config import ConfigError, from_dict
from redbench.datasets.boxes import BoxConfig
from redbench.datasets.fake import fake_raw_video
from redbench.datasets.preprocess import PreprocessConfig, PreprocessError, preprocess, preprocess_videos
from redbench.datasets.shards import load_manifest
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def raw_300vw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw") / "300vw"
    # Synthetic faces the HOG detector finds in most frames, so that its fallback across blocks is exercised;
    # 13 frames per video: blocks of 4 leave a short last block.
    cfg = SyntheticConfig.micro(vw_frames=13, vw_train_videos=2, vw_test_videos_per_category=1, frame_width=256,
                                frame_height=192, face_height_min=60, face_height_max=110)
    write_dataset("300vw", raw, cfg)
    return raw


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_write_byte_identical_shards_and_manifest(raw_300vw, tmp_path, workers):
    # several shards per split; the detector on both splits, so its fallback runs in training clips too
    cfg = PreprocessConfig(crop_size=64, block_frames=4, shard_mb=0.05,
                           boxes=BoxConfig(detector_splits=("train", "test")))
    one = preprocess("300vw", raw_300vw, tmp_path / "one", PreprocessConfig(**{**cfg.__dict__, "workers": 1}))
    many = preprocess("300vw", raw_300vw, tmp_path / "many",
                      PreprocessConfig(**{**cfg.__dict__, "workers": workers}))
    assert one == many
    assert 0 < one["detector_found_rate"] < 1  # found in some frames, a fallback in others
    assert len(load_manifest(tmp_path / "one").shards) > 2
    assert _digests(tmp_path / "one") == _digests(tmp_path / "many")


def test_a_bad_frame_in_a_worker_is_the_same_error_as_in_one_process(tmp_path):
    good = fake_raw_video("300vw/007", 9)

    def broken_frames(wanted=None):  # RawVideo.frames' contract: a worker asks for its blocks' frames only
        for f in good.frames(wanted):
            if f.frame_index == 6:  # block 1 of 4-frame blocks of video 1: share 0 (the parent) of 2, 2 of 3
                f = type(f)(f.image, f.landmarks * np.nan, f.frame_index, f.unreliable)
            yield f

    bad = type(good)(**{**good.__dict__, "frames": broken_frames})
    for workers in (1, 2, 3):
        cfg = PreprocessConfig(crop_size=32, block_frames=4, workers=workers)
        with pytest.raises(PreprocessError, match="300vw/007 frame 6: expected 68 finite landmarks"):
            preprocess_videos([fake_raw_video("300vw/001", 5), bad], "300vw", tmp_path / f"w{workers}", cfg)
        assert not (tmp_path / f"w{workers}").exists()


def test_the_worker_count_is_range_checked_and_not_recorded(tmp_path):
    with pytest.raises(ConfigError, match="workers"):
        from_dict(PreprocessConfig, {"workers": 0}, "preprocess")
    preprocess_videos([fake_raw_video("300vw/001", 3)], "300vw", tmp_path, PreprocessConfig(crop_size=32))
    assert "workers" not in load_manifest(tmp_path).info["preprocess"]["config"]
