"""300-W reader on a hand-made tree in the release's layout."""

from __future__ import annotations

import json
import logging
import shutil

import cv2
import numpy as np
import pytest

from redbench.datasets.pts import write_pts
from redbench.datasets.raw import RawDataError, iter_raw_videos
from redbench.datasets.splits import W300_FOLDERS, w300_eval_set
from redbench.datasets.w300 import iter_videos

# (folder, stem, image suffix, BGR colour): every subset folder, several image formats
FACES = [
    ("afw", "134212_1", ".jpg", (0, 0, 255)),
    ("afw", "134212_2", ".jpg", (0, 255, 0)),
    ("helen/trainset", "100032540_1", ".jpg", (255, 0, 0)),
    ("lfpw/trainset", "image_0001", ".png", (10, 20, 30)),
    ("helen/testset", "296814969_3", ".bmp", (40, 50, 60)),
    ("lfpw/testset", "image_0002", ".png", (70, 80, 90)),
    ("ibug", "image_003_1", ".jpg", (100, 110, 120)),
]


def _points(k: int) -> np.ndarray:
    """68 distinct 1-based points, different for each face."""
    i = np.arange(68, dtype=np.float64)
    return np.stack([1.0 + i * 0.5 + k, 2.0 + (i % 7) * 1.25 + k], axis=1)


def _tree(root):
    for k, (folder, stem, suffix, bgr) in enumerate(FACES):
        (root / folder).mkdir(parents=True, exist_ok=True)
        image = np.zeros((20 + k, 30, 3), np.uint8)
        image[:] = bgr
        cv2.imwrite(str(root / folder / f"{stem}{suffix}"), image)
        write_pts(root / folder / f"{stem}.pts", _points(k))
    return root


def test_reads_every_face_with_its_subset_split_and_zero_based_points(tmp_path):
    root = _tree(tmp_path / "300w")
    (root / "afw" / "unannotated.jpg").write_bytes((root / "afw" / "134212_1.jpg").read_bytes())
    videos = {v.name: v for v in iter_videos(root)}
    assert len(videos) == len(FACES)
    expected_subset = {f.path: f.subset for f in W300_FOLDERS}
    for k, (folder, stem, suffix, bgr) in enumerate(FACES):
        video = videos[f"300w/{folder}/{stem}"]
        assert video.dataset == "300w" and video.n_frames == 1 and video.sidecar is None
        assert video.identity == video.name  # one identity per image
        assert video.subset == expected_subset[folder]
        assert video.split == ("train" if video.subset == "train" else "test")
        (frame,) = list(video.frames())
        assert frame.frame_index == 0 and frame.unreliable is False
        assert frame.image.shape == (20 + k, 30, 3) and frame.image.dtype == np.uint8
        if suffix != ".jpg":  # lossless: the exact colour, in RGB order
            assert tuple(frame.image[0, 0]) == bgr[::-1]
        np.testing.assert_allclose(frame.landmarks, _points(k) - 1.0)  # 1-based .pts -> 0-based
        assert frame.landmarks.dtype == np.float64


def test_subset_counts_and_filter(tmp_path):
    root = _tree(tmp_path / "300w")
    subsets = [v.subset for v in iter_videos(root)]
    assert subsets.count("train") == 4 and subsets.count("common") == 2 and subsets.count("challenging") == 1
    full = [v.name for v in iter_videos(root, subsets=w300_eval_set("full"))]
    assert sorted(full) == sorted(
        ["300w/helen/testset/296814969_3", "300w/lfpw/testset/image_0002", "300w/ibug/image_003_1"]
    )
    assert [v.name for v in iter_raw_videos("300w", root)] == [v.name for v in iter_videos(root)]


def test_official_counts_add_up():
    counts = {s: sum(f.expected for f in W300_FOLDERS if f.subset == s) for s in ("train", "common", "challenging")}
    assert counts == {"train": 3148, "common": 554, "challenging": 135}
    assert w300_eval_set("full") == ("common", "challenging")


def test_pts_without_image_is_an_error_naming_it(tmp_path):
    root = _tree(tmp_path / "300w")
    (root / "ibug" / "image_003_1.jpg").unlink()
    with pytest.raises(RawDataError, match=r"ibug/image_003_1\.pts: no image"):
        list(iter_videos(root))


def test_wrong_point_count_is_an_error_naming_the_file(tmp_path):
    root = _tree(tmp_path / "300w")
    write_pts(root / "afw" / "134212_1.pts", _points(0)[:49])
    video = next(v for v in iter_videos(root) if v.name.endswith("134212_1"))
    with pytest.raises(RawDataError, match=r"134212_1\.pts: expected 68 points, found 49"):
        list(video.frames())


def test_missing_folders_warn_and_an_empty_root_is_an_error(tmp_path, caplog):
    root = _tree(tmp_path / "300w")
    shutil.rmtree(root / "ibug")
    with caplog.at_level(logging.WARNING):
        names = [v.name for v in iter_videos(root)]
    assert len(names) == len(FACES) - 1 and "ibug is missing" in caplog.text
    (tmp_path / "empty").mkdir()
    with pytest.raises(RawDataError, match="none of the 300-W folders"):
        list(iter_videos(tmp_path / "empty"))


def test_sidecar_identity_and_schema(tmp_path):
    root = _tree(tmp_path / "300w")
    sidecar = {"schema": 1, "generator": "redbench.synthetic", "seed": 0, "identity": "synth-007", "category": None,
               "frames": [{"pose": [1, 2, 3], "occluded": [False] * 68, "self_occluded": [False] * 68}]}
    (root / "ibug" / "image_003_1.redbench.json").write_text(json.dumps(sidecar))
    video = next(v for v in iter_videos(root) if v.subset == "challenging")
    assert video.identity == "synth-007" and video.sidecar == sidecar
    sidecar["schema"] = 2
    (root / "ibug" / "image_003_1.redbench.json").write_text(json.dumps(sidecar))
    with pytest.raises(RawDataError, match="unknown sidecar schema 2"):
        list(iter_videos(root))


def test_a_malformed_pts_is_a_raw_data_error_naming_file_and_line(tmp_path):
    root = _tree(tmp_path / "300w")
    (root / "ibug" / "image_003_1.pts").write_text("version: 1\nn_points: 68\n{\n1 nan\n}\n")
    video = next(v for v in iter_videos(root) if v.subset == "challenging")
    with pytest.raises(RawDataError, match=r"image_003_1\.pts:4: non-finite"):
        list(video.frames())
