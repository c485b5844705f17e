"""mmpose's broken 300-VW frames as a second unreliable-frames source (real data only)."""

from __future__ import annotations

import json

import cv2
import numpy as np

from redbench.datasets import vw300_broken
from redbench.datasets.pts import write_pts
from redbench.datasets.vw300 import iter_videos

# video 531's list: 109 279-287 322-325 (1-based .pts numbers)
BROKEN_531 = {109, *range(279, 288), *range(322, 326)}


def _real_video(folder, n_frames: int):
    """folder/imgs/%06d.png (4x4 grey) + folder/annot/%06d.pts, numbered from 1, without a synthetic sidecar."""
    (folder / "imgs").mkdir(parents=True)
    (folder / "annot").mkdir()
    i = np.arange(68, dtype=np.float64)
    for k in range(n_frames):
        cv2.imwrite(str(folder / "imgs" / f"{k + 1:06d}.png"), np.full((4, 4, 3), k % 250, np.uint8))
        write_pts(folder / "annot" / f"{k + 1:06d}.pts", np.stack([5.0 + i * 0.25, 3.0 + (i % 5)], axis=1))
    return folder


def test_the_list_is_mmposes():
    assert len(vw300_broken.videos()) == 16
    assert sum(len(vw300_broken.broken_frames(v)) for v in vw300_broken.videos()) == 2127
    assert len(vw300_broken.broken_frames("557")) == 394 and len(vw300_broken.broken_frames("411")) == 316
    assert vw300_broken.broken_frames("531") == BROKEN_531
    assert vw300_broken.broken_frames("114") == frozenset()  # not on the list
    assert min(min(vw300_broken.broken_frames(v)) for v in vw300_broken.videos()) >= 1  # 1-based
    assert "Apache-2.0" in vw300_broken.SOURCE and "Open-MMLab" in vw300_broken.SOURCE


def test_real_video_flags_its_broken_frames_beside_extra(tmp_path):
    root = tmp_path / "300vw"
    _real_video(root / "531", 330)
    (root / "extra").mkdir()
    (root / "extra" / "531.txt").write_text("1\n")
    (video,) = iter_videos(root)
    flagged = {f.frame_index for f in video.frames() if f.unreliable}
    assert flagged == {0} | {n - 1 for n in BROKEN_531}  # 1-based list -> 0-based frame index


def test_synthetic_video_with_a_listed_id_is_not_flagged(tmp_path):
    root = tmp_path / "300vw"
    _real_video(root / "531", 330)
    frame = {"pose": [0, 0, 0], "occluded": [False] * 68, "self_occluded": [False] * 68}
    (root / "531" / "redbench.json").write_text(json.dumps(
        {"schema": 1, "generator": "redbench.synthetic", "seed": 1, "identity": "synth-1", "category": 3,
         "frames": [frame] * 330}))
    (video,) = iter_videos(root)
    assert not any(f.unreliable for f in video.frames())


def test_real_video_shorter_than_its_list_keeps_the_frames_it_has_and_warns(tmp_path, caplog):
    root = tmp_path / "300vw"
    _real_video(root / "531", 200)
    with caplog.at_level("WARNING"):
        (video,) = iter_videos(root)
    assert {f.frame_index for f in video.frames() if f.unreliable} == {n - 1 for n in BROKEN_531 if n <= 200}
    assert "300vw/531" in caplog.text and "frames up to 325" in caplog.text and "200 .pts" in caplog.text
