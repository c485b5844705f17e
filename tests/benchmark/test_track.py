"""`redbench track`'s library: a method on a video without annotations gives the landmarks the predict driver
gives on the same frames and boxes; the geometry, the loss and re-detection rules and the jitter by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .conftest import TRACK_PARAMS
from redbench import methods
from redbench.benchmark.track import (Segment, TrackConfig, TrackResult, detection_to_box, iou, read_working_frames,
                                      track_video, working_affine)
from redbench.benchmark.track_outputs import track_jitter, write_track_folder, _runs
from redbench.datasets.detector import DlibBoxModel
from redbench.datasets.geometry import apply_affine, invert_affine
from redbench.datasets.video import open_video


def predict_path(method, result: TrackResult, source, protocol: str, tmp: Path) -> np.ndarray:
    """The predict driver (redbench.benchmark.predict.run_method) on the working frames track used: one test
    clip per segment, its boxes the ones track gave, crop_to_orig the working frames' transform; (T, 68, 2)."""
    from redbench.benchmark.predict import run_method
    from redbench.benchmark.store import read_predictions
    from redbench.datasets.shard_writer import ShardFormat, ShardSetWriter
    from redbench.datasets.shards import ClipData, ClipRecord

    n, s = source.n_frames, result.work_size
    frames = np.empty((n, s, s, 3), np.uint8)
    read_working_frames(source, result.to_work, s, frames)
    work_boxes = apply_affine(result.boxes.reshape(-1, 2, 2), result.to_work).reshape(-1, 4).astype(np.float32)
    back = invert_affine(result.to_work).astype(np.float32)
    with ShardSetWriter(tmp / "shards", "video", "synthetic", ShardFormat(crop_size=s)) as w:
        for k, seg in enumerate(result.segments):
            t, sl = seg.stop - seg.start, slice(seg.start, seg.stop)
            z = np.zeros((t, 68, 2), np.float32)
            clip = ClipData(crops=frames[sl], landmarks=z, landmarks_orig=z, crop_to_orig=np.tile(back, (t, 1, 1)),
                            occluded=np.zeros((t, 68), bool), occlusion_known=np.ones(t, bool),
                            self_occluded=np.zeros((t, 68), bool), pose=np.zeros((t, 3), np.float32),
                            pose_pnp=np.zeros((t, 3), np.float32),
                            boxes={b: work_boxes[sl] for b in ("gt", "gt_jitter", "detector")},
                            detector_found=np.ones(t, bool), unreliable=np.zeros(t, bool),
                            frame_index=np.arange(seg.start, seg.stop, dtype=np.int32))
            w.write_clip(ClipRecord(f"video/{k}", 0, "video", "test", "test", t), [clip])
        w.finish(["video"], {})
    prov = methods.Provenance("1", "cfg", "data")
    run_method(method, tmp / "shards", protocol, tmp / "pred.h5", prov)
    p = read_predictions(tmp / "pred.h5")
    out = np.full((n, 68, 2), np.nan)
    out[p.frame_indices] = p.landmarks
    return out


def read_written(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks from annot/*.pts, landmarks from landmarks.csv), both (n, 68, 2) 0-based, NaN where absent."""
    from redbench.benchmark.importers import read_csv_file
    from redbench.datasets.raw import read_landmarks

    pts = np.full((n, 68, 2), np.nan)
    for p in (folder / "annot").glob("*.pts"):
        pts[int(p.stem) - 1] = read_landmarks(p)
    imp = read_csv_file(folder / "landmarks.csv", "video")
    csv = np.full((n, 68, 2), np.nan)
    csv[imp.frame_indices] = imp.landmarks
    return pts, csv


@pytest.mark.parametrize("name, source_kind, boxes", [
    ("mean_shape", "avi", "tracking"),
    ("red", "frames", "tracking"),
    ("red", "avi", "detector"),
    ("mean_shape+smooth", "frames", "tracking"),
])
def test_written_landmarks_are_the_predict_drivers(name, source_kind, boxes, synthetic_video, track_models,
                                                   tmp_path) -> None:
    avi, frames = synthetic_video
    source = open_video(avi if source_kind == "avi" else frames)
    assert source.n_frames == 16 and source.size == (256, 192)
    method = methods.create(name, TRACK_PARAMS, track_models)
    cfg = TrackConfig(boxes=boxes)
    result = track_video(method, source, cfg)
    assert result.tracked[result.segments[0].start:].any()
    (tmp_path / "out").mkdir()
    write_track_folder(tmp_path / "out", result, source, cfg, name, methods.Provenance("1", "cfg", "data"))
    pts, csv = read_written(tmp_path / "out", source.n_frames)
    want = predict_path(methods.create(name, TRACK_PARAMS, track_models), result, source,
                        "detector" if boxes == "detector" else "tracking", tmp_path)
    assert np.array_equal(np.isnan(want), np.isnan(pts)) and np.array_equal(np.isnan(want), np.isnan(csv))
    np.testing.assert_allclose(result.landmarks, want, atol=1e-3, equal_nan=True)  # float32 shard boxes/affines
    np.testing.assert_allclose(pts, want, atol=2e-3, equal_nan=True)  # .pts keep 3 decimals
    np.testing.assert_allclose(csv, result.landmarks, atol=1e-6, equal_nan=True)


def test_detector_box_rule_inverts_dlibs_box_geometry() -> None:
    tight = np.array([10.0, 20.0, 50.0, 60.0])  # square: the inverse's assumption
    det = DlibBoxModel().from_box(tight)
    np.testing.assert_allclose(detection_to_box(det), tight, atol=1e-12)
    np.testing.assert_allclose(detection_to_box(det, 1.5), [0.0, 10.0, 60.0, 70.0], atol=1e-12)  # x 1.5 about centre


def test_iou_and_runs_by_hand() -> None:
    assert iou(np.array([0, 0, 2, 2.0]), np.array([1, 1, 3, 3.0])) == pytest.approx(1 / 7)
    assert iou(np.array([0, 0, 1, 1.0]), np.array([2, 2, 3, 3.0])) == 0.0
    assert _runs(np.array([3, 4, 5, 9, 11, 12])) == [[3, 5], [9, 9], [11, 12]]
    assert _runs(np.array([], dtype=int)) == []


def test_working_affine_scales_pixel_centres_and_never_enlarges() -> None:
    a, s = working_affine(np.array([0, 0, 128.0, 100.0]), 64.0)
    assert s == 0.5
    # pixel 0 covers [-0.5, 0.5]: edges map to -0.5 and 0.0, so its centre to -0.25; edge 128 -> 63.5
    np.testing.assert_allclose(apply_affine(np.array([[[-0.5, -0.5], [127.5, 0.0]]]), a)[0], [[-0.5, -0.5], [63.5, -0.25]])
    assert working_affine(np.array([0, 0, 32.0, 32.0]), 64.0)[1] == 1.0


def _jitter_track(points: np.ndarray) -> TrackResult:
    n = len(points)
    return TrackResult(points, np.zeros((n, 4)), (Segment(0, n, "given box"),), np.eye(2, 3), 1)


def test_track_jitter_by_hand() -> None:
    from redbench.datasets.fake import template_2d

    shape = template_2d() * 50 + 100
    steady = np.stack([shape + [2.0 * t, 0] for t in range(5)])  # constant velocity: no second difference
    np.testing.assert_allclose(track_jitter(_jitter_track(steady)), 0.0, atol=1e-12)
    bumped = steady.copy()
    bumped[2, 0] += [3.0, 4.0]  # point 0 moved 5 px at frame 2 only
    d = np.linalg.norm(shape[45] - shape[36])
    want = np.array([5.0, 10.0, 5.0]) / 68 / d  # frames 1, 2, 3: p[t-1] - 2 p[t] + p[t+1] of that point
    np.testing.assert_allclose(track_jitter(_jitter_track(bumped)), want, rtol=1e-12)


class _JumpsAt:
    """A temporal method: the template placed in each box, except that segment-relative frame `k` is moved
    `jump` px (so the next tracked box leaves the face). Counts its calls."""

    name, temporal = "jumps", True

    def __init__(self, k: int, jump: float):
        self.k, self.jump, self.calls = k, jump, []

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        from redbench.datasets.fake import template_2d
        from redbench.methods.tracking import track

        unit = (template_2d() - template_2d().min(0)) / np.ptp(template_2d(), 0)  # tight box = the unit square
        self.calls.append(len(crops))

        def step(t, box):
            out = box[:2] + unit * (box[2:] - box[:2])
            return out + (self.jump if t == self.k else 0.0)

        return track(step, boxes, tracking, gt_box_scale)


def test_a_lost_track_is_redetected_and_restarts_the_method(synthetic_video) -> None:
    source = open_video(synthetic_video[0])
    method = _JumpsAt(5, 1000.0)
    result = track_video(method, source, TrackConfig(check_every=0))
    # lost at 6 (the box from frame 5's jump is outside the frame), found again at 6; again 6 frames later
    assert result.segments == (Segment(0, 6, "first face"), Segment(6, 12, "redetected"),
                               Segment(12, 16, "redetected"))
    assert method.calls == [16, 10, 4]  # each segment runs to the end of the video; its tail is re-run
    assert result.tracked.all()
    # a re-detected segment starts from the detector's box on that working frame (the gt box rule's)
    from redbench.datasets.detector import HogDetector

    frames = np.empty((16, result.work_size, result.work_size, 3), np.uint8)
    read_working_frames(source, result.to_work, result.work_size, frames)
    det = detection_to_box(HogDetector(size=None, upsample=1)(frames[6]))
    np.testing.assert_allclose(result.boxes[6], apply_affine(det.reshape(2, 2), invert_affine(result.to_work)).reshape(4))
    assert result.detector_found[6] and result.detector_found[12]


def test_the_detector_check_catches_a_drifting_track(synthetic_video) -> None:
    """A track that slides 6 working px a frame stays plausible; the detector at frame 4 overlaps it too little."""
    source = open_video(synthetic_video[0])

    class Drifts(_JumpsAt):
        def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
            self.jump = 0.0
            base = super().predict_clip(crops, boxes[:1].repeat(len(crops), 0), False)
            return base + np.arange(len(crops))[:, None, None] * np.array([6.0, 0.0])

    result = track_video(Drifts(-1, 0.0), source, TrackConfig(check_every=4, lost_iou=0.6))
    assert result.segments[0] == Segment(0, 4, "first face") and result.segments[1].start == 4
    assert result.segments[1].reason == "redetected"
