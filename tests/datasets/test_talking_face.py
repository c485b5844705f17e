"""Talking Face reader: franck_NNNNN.jpg + .pts from 00000, one identity, one video."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from redbench.datasets.pts import write_pts
from redbench.datasets.raw import RawDataError
from redbench.datasets.talking_face import iter_videos


def _points(k: int) -> np.ndarray:
    i = np.arange(68, dtype=np.float64)
    return np.stack([10.0 + i + k, 20.0 + 0.5 * i - k], axis=1)


def _frames(image_dir, pts_dir, n: int):
    image_dir.mkdir(parents=True, exist_ok=True)
    pts_dir.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        cv2.imwrite(str(image_dir / f"franck_{k:05d}.jpg"), np.full((16, 20, 3), 40 * k, np.uint8))
        write_pts(pts_dir / f"franck_{k:05d}.pts", _points(k))


def test_one_video_of_all_frames_in_order(tmp_path):
    root = tmp_path / "tf"
    _frames(root, root, 4)
    (video,) = list(iter_videos(root))
    assert (video.dataset, video.name, video.identity, video.split, video.subset, video.n_frames) == (
        "tf", "tf/franck", "tf/franck", "test", "tf", 4)
    frames = list(video.frames())
    assert [f.frame_index for f in frames] == [0, 1, 2, 3]  # franck_00000 is frame 0
    for k, frame in enumerate(frames):
        assert abs(float(frame.image.mean()) - 40 * k) < 3 and frame.image.shape == (16, 20, 3)
        np.testing.assert_allclose(frame.landmarks, _points(k) - 1.0)
        assert not frame.unreliable


def test_images_and_points_in_separate_folders(tmp_path):
    root = tmp_path / "tf"
    _frames(root / "films", root / "points", 3)
    (video,) = iter_videos(root)
    assert video.n_frames == 3
    np.testing.assert_allclose(list(video.frames())[2].landmarks, _points(2) - 1.0)


def test_gaps_and_missing_images_are_errors(tmp_path):
    root = tmp_path / "tf"
    _frames(root, root, 4)
    (root / "franck_00001.pts").unlink()
    (root / "franck_00001.jpg").unlink()
    with pytest.raises(RawDataError, match="franck_00001.pts is missing"):
        list(iter_videos(root))
    (root / "franck_00003.jpg").unlink()
    with pytest.raises(RawDataError, match=r"franck_00003\.pts: no image"):
        list(iter_videos(root))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RawDataError, match="no franck_NNNNN.pts"):
        list(iter_videos(tmp_path / "empty"))


def test_sidecar_identity(tmp_path):
    root = tmp_path / "tf"
    _frames(root, root, 2)
    frame = {"pose": [0, 0, 0], "occluded": [False] * 68, "self_occluded": [False] * 68}
    (root / "redbench.json").write_text(json.dumps(
        {"schema": 1, "generator": "redbench.synthetic", "seed": 0, "identity": "tf-person", "category": None,
         "frames": [frame, frame]}))
    (video,) = iter_videos(root)
    assert video.identity == "tf-person" and len(video.sidecar["frames"]) == 2
