"""preprocess.boxes.detector_splits: the detector runs only on the splits that need its boxes; a method that
asks for a detector box preprocess did not compute gets an error naming the shard, the clip and the param."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from redbench.benchmark.predict import run_method
from redbench.datasets.boxes import BoxConfig
from redbench.datasets.loaders import ClipDataset
from redbench.datasets.preprocess import PreprocessConfig, preprocess
from redbench.datasets.shard_summary import summarize_path
from redbench.datasets.shards import ShardReader, load_manifest
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """The same raw 300vw preprocessed twice: detector on every split, and on the test split only."""
    root = tmp_path_factory.mktemp("det")
    cfg = SyntheticConfig.micro(vw_frames=6, vw_train_videos=2, vw_test_videos_per_category=1, frame_width=256,
                                frame_height=192, face_height_min=60, face_height_max=110)
    write_dataset("300vw", root / "raw", cfg)
    out = {}
    for name, splits in (("both", ("train", "test")), ("test", ("test",))):
        pcfg = PreprocessConfig(crop_size=64, boxes=BoxConfig(detector_splits=splits))
        out[name] = (root / name, preprocess("300vw", root / "raw", root / name, pcfg))
    return out


def _frames(folder, split, field):
    m = load_manifest(folder)
    return np.concatenate([ShardReader(p).read_frames([field])[field] for p in m.paths(split)])


def test_test_only_detector_leaves_train_boxes_nan_and_test_boxes_unchanged(shards):
    both, test_only = shards["both"][0], shards["test"][0]
    assert np.isnan(_frames(test_only, "train", "boxes/detector")).all()
    assert not _frames(test_only, "train", "detector_found").any()
    np.testing.assert_array_equal(_frames(test_only, "test", "boxes/detector"),
                                  _frames(both, "test", "boxes/detector"))
    np.testing.assert_array_equal(_frames(test_only, "train", "boxes/gt"), _frames(both, "train", "boxes/gt"))
    assert np.isfinite(_frames(both, "train", "boxes/detector")).all()


def test_summaries_count_only_searched_frames(shards):
    (both, s_both), (test_only, s_test) = shards["both"], shards["test"]
    n_test = len(_frames(both, "test", "detector_found"))
    assert s_both["detector_searched"] == s_both["frames"] == s_test["frames"]
    assert s_test["detector_searched"] == n_test < s_test["frames"]
    found_test = _frames(both, "test", "detector_found").sum()
    assert s_test["detector_found_rate"] == pytest.approx(found_test / n_test)
    folder = summarize_path(test_only)
    assert folder["detector_searched"] == n_test
    assert folder["detector_found_rate"] == pytest.approx(found_test / n_test)


def test_training_on_missing_detector_boxes_names_the_shard_and_the_param(shards):
    test_only = shards["test"][0]
    paths = load_manifest(test_only).paths("train")
    ds = ClipDataset(paths, clip_len=2, input_size=32, box="detector", train=False)
    with pytest.raises(ValueError, match=r"train-\S*\.h5: clip '300vw/\d+': no detector box "
                                         r"\(preprocess\.boxes\.detector_splits"):
        ds[0]
    assert ClipDataset(paths, clip_len=2, input_size=32, box="gt", train=False)[0]["image"].isfinite().all()


def test_predicting_with_missing_detector_boxes_is_refused(shards, tmp_path):
    never_called = SimpleNamespace(name="any")  # the boxes are checked before a method sees the clip
    with pytest.raises(ValueError, match=r"clip '300vw/\d+' frame 0: no detector box \(preprocess\.boxes"):
        run_method(never_called, shards["test"][0], "detector", tmp_path / "p.h5", None, split="train")
    assert not (tmp_path / "p.h5").exists()


def test_dlib_detector_is_not_built_when_no_split_needs_it(tmp_path, monkeypatch):
    from redbench.datasets import preprocess as pre
    from redbench.datasets.fake import fake_raw_video

    def refuse(*a, **k):
        raise AssertionError("the detector was built")

    monkeypatch.setattr(pre, "HogDetector", refuse)
    train_only = [fake_raw_video("300vw/001", 4, split="train", subset="train"),
                  fake_raw_video("300vw/002", 3, split="train", subset="train")]
    summary = pre.preprocess_videos(train_only, "300vw", tmp_path / "o", PreprocessConfig(crop_size=32))
    assert summary["frames"] == 7 and summary["detector_searched"] == 0
    with pytest.raises(AssertionError, match="was built"):
        pre.preprocess_videos([fake_raw_video("300vw/114", 2)], "300vw", tmp_path / "t", PreprocessConfig(crop_size=32))
