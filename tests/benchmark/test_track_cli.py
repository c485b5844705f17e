"""`redbench track` through click's CliRunner: what it writes, and its errors (each names the file, exits
non-zero and leaves nothing half-written)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench.cli import main

from .conftest import TRACK_PARAMS


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(TRACK_PARAMS))
    return path


def _track(params: Path, models: Path, video: Path, out: Path, *args: str):
    return CliRunner().invoke(main, ["-q", "--params", str(params), "track", str(video), "-m", "mean_shape",
                                     "--models-dir", str(models), "--out", str(out), *args])


def _frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


def test_help() -> None:
    r = CliRunner().invoke(main, ["track", "--help"])
    assert r.exit_code == 0 and "VIDEO" in r.output and "--boxes" in r.output


def test_track_writes_annot_csv_overlay_and_summary(params, track_models, synthetic_video, tmp_path) -> None:
    avi, _ = synthetic_video
    out = tmp_path / "out"
    r = _track(params, track_models, avi, out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["annot", "landmarks.csv", "overlay.avi", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    tracked = summary["tracked_frames"]
    assert summary["frames"] == 16 and summary["method"] == "mean_shape" and summary["boxes"] == "tracking"
    assert len(list((out / "annot").glob("*.pts"))) == tracked
    assert len((out / "landmarks.csv").read_text().splitlines()) == tracked + 1
    assert _frame_count(out / "overlay.avi") == 16  # the input's frame count
    assert summary["jitter"]["points"] == 68 and summary["jitter"]["frames"] > 0


def test_a_frame_folder_a_given_box_and_an_mp4_overlay(params, track_models, synthetic_video, tmp_path) -> None:
    from redbench.datasets.raw import read_landmarks

    avi, frames = synthetic_video
    truth = read_landmarks(avi.parent / "annot" / "000001.pts")
    box = [*truth.min(0), *truth.max(0)]  # the tight box of frame 0's true landmarks
    out = tmp_path / "out"
    r = _track(params, track_models, frames, out, "--box", *map(str, box), "--overlay", "mp4", "--fps", "10")
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["segments"][0] == {"start": 0, "stop": summary["segments"][0]["stop"], "reason": "given box"}
    assert summary["fps"] == 10.0 and _frame_count(out / "overlay.mp4") == 16
    first = read_landmarks(out / "annot" / "000001.pts")
    # mean_shape places its shape in the given box: frame 0's points lie inside it
    assert (first.min(0) >= np.array(box[:2]) - 1).all() and (first.max(0) <= np.array(box[2:]) + 1).all()


def _fails(r, *fragments: str) -> None:
    assert r.exit_code != 0
    for f in fragments:
        assert f in r.output, r.output


def test_unreadable_video(params, track_models, tmp_path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    r = _track(params, track_models, bad, tmp_path / "out")
    _fails(r, str(bad))
    assert not (tmp_path / "out").exists()
    r = _track(params, track_models, tmp_path / "missing.avi", tmp_path / "out")
    _fails(r, "missing.avi", "no such video file")


def test_empty_video_and_empty_folder(params, track_models, tmp_path) -> None:
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    writer.release()  # a container without a frame
    r = _track(params, track_models, empty, tmp_path / "out")
    _fails(r, str(empty))
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "notes.txt").write_text("no images here")
    r = _track(params, track_models, tmp_path / "frames", tmp_path / "out")
    _fails(r, str(tmp_path / "frames"), "no frame images")
    assert not (tmp_path / "out").exists()


def test_a_face_never_found(params, track_models, tmp_path) -> None:
    folder = tmp_path / "noise"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    r = _track(params, track_models, folder, tmp_path / "out")
    _fails(r, str(folder), "no face found in any of its 3 frames", "--box")
    assert not (tmp_path / "out").exists()


def test_a_corrupt_frame_is_named_and_the_previous_output_kept(params, track_models, synthetic_video,
                                                               tmp_path) -> None:
    _, frames = synthetic_video
    out = tmp_path / "out"
    assert _track(params, track_models, frames, out).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "broken_frames"
    broken.mkdir()
    for p in sorted(frames.iterdir()):
        (broken / p.name).write_bytes(p.read_bytes())
    data = (broken / "000009.png").read_bytes()
    (broken / "000009.png").write_bytes(data[: len(data) // 2])  # truncated
    r = _track(params, track_models, broken, out)
    _fails(r, "000009.png", "frame 8")
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no staging left


def test_refuses_an_output_folder_with_foreign_files(params, track_models, synthetic_video, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    r = _track(params, track_models, synthetic_video[1], out)
    _fails(r, "mine.txt")
    assert (out / "mine.txt").read_text() == "keep me"
