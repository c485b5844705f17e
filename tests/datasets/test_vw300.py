"""300-VW reader on tiny hand-made videos (MJPG .avi) and frame folders in the release's layout."""

from __future__ import annotations

import inspect
import json

import cv2
import numpy as np
import pytest

from redbench.datasets import splits, vw300
from redbench.datasets.pts import write_pts
from redbench.datasets.raw import RawDataError
from redbench.datasets.vw300 import FrameCountError, iter_videos, unreliable_frames

LEVELS = (0, 60, 120, 180, 240, 30, 90)  # grey level of frame i: identifies the frame after lossy MJPG


def _points(k: int) -> np.ndarray:
    i = np.arange(68, dtype=np.float64)
    return np.stack([5.0 + i * 0.25 + k, 3.0 + (i % 5) + 2 * k], axis=1)


def _video(folder, n_frames: int, n_pts: int | None = None):
    """folder/vid.avi with n_frames frames and folder/annot/000001.pts.. with n_pts files."""
    (folder / "annot").mkdir(parents=True)
    writer = cv2.VideoWriter(str(folder / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.full((24, 32, 3), LEVELS[i], np.uint8))
    writer.release()
    for k in range(n_frames if n_pts is None else n_pts):
        write_pts(folder / "annot" / f"{k + 1:06d}.pts", _points(k))
    return folder


def _frame_folder(folder, name: str, suffix: str, n_frames: int, n_pts: int | None = None):
    (folder / name).mkdir(parents=True)
    (folder / "annot").mkdir()
    for i in range(n_frames):
        cv2.imwrite(str(folder / name / f"{i + 1:06d}{suffix}"), np.full((24, 32, 3), LEVELS[i], np.uint8))
    for k in range(n_frames if n_pts is None else n_pts):
        write_pts(folder / "annot" / f"{k + 1:06d}.pts", _points(k))
    return folder


def test_split_lists_are_the_standard_protocol():
    assert len(splits.VW300_TRAIN) == 50
    assert {c: len(ids) for c, ids in splits.VW300_CATEGORIES.items()} == {1: 31, 2: 19, 3: 14}
    everything = list(splits.VW300_TRAIN) + [i for ids in splits.VW300_CATEGORIES.values() for i in ids]
    assert len(everything) == len(set(everything)) == 114
    assert [splits.vw300_subset(i) for i in ("001", "114", "203", "562")] == [
        "train", "category1", "category2", "category3"]
    with pytest.raises(splits.UnknownVideoError, match="'999' is in none of the split lists"):
        splits.vw300_subset("999")


def test_reads_video_frames_in_order_lazily(tmp_path, monkeypatch):
    root = tmp_path / "300vw"
    _video(root / "114", 5)
    _video(root / "001", 3)
    (root / "extra").mkdir()  # not a video folder
    opened = []
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda path: opened.append(path) or real_capture(path))
    videos = list(iter_videos(root))
    assert opened == []  # listing decodes nothing
    assert [(v.name, v.subset, v.split, v.n_frames) for v in videos] == [
        ("300vw/001", "train", "train", 3), ("300vw/114", "category1", "test", 5)]
    video = videos[1]
    assert video.identity == "300vw/114" and video.dataset == "300vw" and video.sidecar is None
    frames = video.frames()
    assert inspect.isgenerator(frames)
    for i, frame in enumerate(frames):
        assert frame.frame_index == i and frame.unreliable is False
        assert frame.image.shape == (24, 32, 3) and frame.image.dtype == np.uint8
        assert abs(float(frame.image.mean()) - LEVELS[i]) < 4  # MJPG is lossy, but keeps a flat grey
        np.testing.assert_allclose(frame.landmarks, _points(i) - 1.0)  # annot 00000(i+1).pts, 0-based
    assert i == 4 and len(opened) == 1


@pytest.mark.parametrize("layout", ["video", "frames"])
def test_wanted_frames_only_are_decoded_and_parsed(tmp_path, layout):
    root = tmp_path / "300vw"
    if layout == "video":
        _video(root / "114", 7)
    else:
        _frame_folder(root / "114", "frames", ".png", 7)
    (video,) = iter_videos(root)
    everything = list(video.frames())
    (root / "114" / "annot" / "000004.pts").write_text("not a pts file")  # frame 3: never parsed below
    wanted = list(video.frames(lambda i: i in (1, 4, 5, 6)))
    assert [f.frame_index for f in wanted] == [1, 4, 5, 6]
    for f in wanted:
        np.testing.assert_array_equal(f.image, everything[f.frame_index].image)  # grab + retrieve == read
        np.testing.assert_array_equal(f.landmarks, everything[f.frame_index].landmarks)


def test_skipped_frames_still_count_against_the_annotations(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "203", 4, 6)
    (video,) = iter_videos(root)
    with pytest.raises(FrameCountError, match="has 4 decodable frames but annot/ has 6 .pts files"):
        list(video.frames(lambda i: i == 0))


@pytest.mark.parametrize("n_frames, n_pts", [(5, 7), (5, 3)])
def test_frame_and_annotation_counts_that_disagree_name_video_and_counts(tmp_path, n_frames, n_pts):
    root = tmp_path / "300vw"
    _video(root / "203", n_frames, n_pts)
    (video,) = iter_videos(root)
    assert video.n_frames == n_pts
    with pytest.raises(FrameCountError) as e:
        list(video.frames())
    assert str(e.value).startswith("300vw/203:")
    assert f"has {n_frames} decodable frames but annot/ has {n_pts} .pts files" in str(e.value)


def test_stopping_early_does_not_raise(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "203", 5, 3)
    (video,) = iter_videos(root)
    first = next(video.frames())  # a consumer that reads one frame only
    assert first.frame_index == 0


@pytest.mark.parametrize("folder_name, suffix", [("imgs", ".png"), ("frames", ".jpg")])
def test_pre_extracted_frames(tmp_path, folder_name, suffix):
    root = tmp_path / "300vw"
    _frame_folder(root / "410", folder_name, suffix, 4)
    (video,) = iter_videos(root)
    assert video.subset == "category3" and video.n_frames == 4
    levels = [round(float(f.image.mean())) for f in video.frames()]
    if suffix == ".png":
        assert levels == list(LEVELS[:4])
    else:
        assert np.allclose(levels, LEVELS[:4], atol=3)


def test_pre_extracted_frame_count_mismatch_is_raised_when_listing(tmp_path):
    root = tmp_path / "300vw"
    _frame_folder(root / "410", "imgs", ".png", 4, n_pts=6)
    with pytest.raises(FrameCountError, match=r"300vw/410: .*imgs has 4 frame images but annot/ has 6 \.pts files"):
        list(iter_videos(root))


def test_annotation_gap_and_unknown_video_are_errors(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "114", 4)
    (root / "114" / "annot" / "000002.pts").unlink()
    with pytest.raises(RawDataError, match=r"annotation 000002 is missing"):
        list(iter_videos(root))
    other = tmp_path / "other"
    _video(other / "999", 2)
    with pytest.raises(splits.UnknownVideoError, match="999"):
        list(iter_videos(other))


def test_subset_filter(tmp_path):
    root = tmp_path / "300vw"
    for vid in ("001", "114", "203", "410"):
        _video(root / vid, 2)
    assert [v.name for v in iter_videos(root, subsets=("category2", "category3"))] == ["300vw/203", "300vw/410"]


def test_unreliable_frames_from_extra(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "114", 6)
    _video(root / "124", 2)
    (root / "extra").mkdir()
    (root / "extra" / "114.txt").write_text("# frames whose annotation is unreliable\n2\n4-5, 000006.pts\n")
    (root / "extra" / "1140.txt").write_text("1\n")  # another id's list (not 114)
    videos = {v.name: v for v in iter_videos(root)}
    flags = [f.unreliable for f in videos["300vw/114"].frames()]
    assert flags == [False, True, False, True, True, True]  # 1-based 2, 4, 5, 6 -> 0-based 1, 3, 4, 5
    assert not any(f.unreliable for f in videos["300vw/124"].frames())


@pytest.mark.parametrize("text, what", [("3\nseven\n", r"114\.txt:2: not a frame number"),
                                        ("0\n", r"114\.txt:1: frame '0' is outside 1\.\.6"),
                                        ("5-9\n", r"114\.txt:1: frame '5-9' is outside")])
def test_malformed_extra_lists_name_file_and_line(tmp_path, text, what):
    root = tmp_path / "300vw"
    (root / "extra").mkdir(parents=True)
    (root / "extra" / "114.txt").write_text(text)
    with pytest.raises(RawDataError, match=what):
        unreliable_frames(root, "114", 6)


def test_sidecar_gives_identity_and_must_match_the_frame_count(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "114", 3)
    frame = {"pose": [0, 0, 0], "occluded": [False] * 68, "self_occluded": [False] * 68}
    sidecar = {"schema": 1, "generator": "redbench.synthetic", "seed": 1, "identity": "synth-3", "category": 1,
               "frames": [frame] * 3}
    (root / "114" / "redbench.json").write_text(json.dumps(sidecar))
    (video,) = iter_videos(root)
    assert video.identity == "synth-3" and video.sidecar["category"] == 1
    sidecar["frames"] = [frame] * 2
    (root / "114" / "redbench.json").write_text(json.dumps(sidecar))
    with pytest.raises(RawDataError, match="sidecar lists 2 frames but the annotations have 3"):
        list(iter_videos(root))


def test_missing_video_file_is_an_error(tmp_path):
    root = tmp_path / "300vw"
    _video(root / "114", 2)
    (root / "114" / "vid.avi").unlink()
    with pytest.raises(RawDataError, match="neither vid.avi nor a frame folder"):
        vw300.read_video(root, "114", "category1")


def test_non_text_files_in_extra_are_skipped_with_a_warning(tmp_path, caplog):
    root = tmp_path / "300vw"
    (root / "extra").mkdir(parents=True)
    (root / "extra" / "114.txt").write_text("2\n")
    (root / "extra" / "114.mat").write_bytes(b"\x00\x01MATLAB")
    with caplog.at_level("WARNING"):
        assert unreliable_frames(root, "114", 6) == frozenset({2})
    assert "114.mat: not a text frame list" in caplog.text
