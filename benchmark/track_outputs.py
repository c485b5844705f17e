"""What `redbench track` writes for one video, all into one folder swapped in whole:

- `annot/000001.pts ...`: the 300-VW layout, .pts k holding frame k-1's 68 points in 1-based coordinates
  (redbench.datasets.pts, "%.3f"); frames without a face have no file;
- `landmarks.csv`: `clip_id,frame_index,x0,y0,...,x67,y67` (0-based, "%.6f"), one row per frame with a face,
  the layout `redbench import csv` reads;
- `overlay.avi` (MJPG) or `overlay.mp4` (mp4v): every frame with the landmarks, the box the method got, and
  the frame's status;
- `summary.json`: the stability summary (`stability_summary`) and where the numbers came from.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from redbench.benchmark.draw import GREY, draw_box, draw_points, method_colour, put_label
from redbench.benchmark.track import TrackConfig, TrackResult
from redbench.datasets.video import VideoSource
from redbench.methods.protocol import Provenance

OVERLAY_CODECS = {"avi": "MJPG", "mp4": "mp4v"}
JITTER_NORM = "inter-ocular distance (outer eye corners 36/45) of the method's own points"


def owned_by_track(rel: str) -> bool:
    """Files of a track folder that `redbench track` writes (and so may replace)."""
    return (rel in ("landmarks.csv", "summary.json", *(f"overlay.{e}" for e in OVERLAY_CODECS))
            or (rel.startswith("annot/") and rel.endswith(".pts")))


def _runs(frames: np.ndarray) -> list[list[int]]:
    """Sorted frame numbers (K,) -> [[first, last], ...] of consecutive runs."""
    if not len(frames):
        return []
    cut = np.flatnonzero(np.diff(frames) != 1)
    starts, ends = np.r_[frames[0], frames[cut + 1]], np.r_[frames[cut], frames[-1]]
    return [[int(a), int(b)] for a, b in zip(starts, ends)]


def track_jitter(result: TrackResult) -> np.ndarray:
    """Jitter of the method's own track: for each frame inside a segment (its neighbours in the same segment),
    the mean over the 68 points of |p[t-1] - 2 p[t] + p[t+1]| / the track's inter-ocular distance at t
    (redbench.benchmark.metrics.jitter with the track as its own reference). (K,) over all segments; frames
    whose own eye corners coincide (a collapsed output) have no normaliser and are left out."""
    from redbench.benchmark.metrics import jitter

    with np.errstate(divide="ignore", invalid="ignore"):
        parts = [jitter(p, p, "inter_ocular") for seg in result.segments
                 if len(p := result.landmarks[seg.start:seg.stop]) >= 3]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return values[np.isfinite(values)]


def stability_summary(result: TrackResult, cfg: TrackConfig) -> dict[str, Any]:
    """The track's stability: jitter, frames without a face, where the face was lost and found again."""
    tracked = result.tracked
    n = len(tracked)
    first = result.segments[0].start if result.segments else n
    after = np.flatnonzero(~tracked[first:]) + first
    jit = track_jitter(result)
    ran = np.array(sorted(result.detector_found), dtype=np.int64)
    missed = np.array([t for t in ran if not result.detector_found[t]], dtype=np.int64)
    out: dict[str, Any] = {
        "frames": n, "tracked_frames": int(tracked.sum()), "first_face_frame": first if first < n else None,
        "lost_frames": int(len(after)), "lost_runs": _runs(after),
        "redetected_at": [s.start for s in result.segments if s.reason == "redetected"],
        "segments": [dataclasses.asdict(s) for s in result.segments],
        "jitter": {"normaliser": JITTER_NORM, "points": 68, "frames": int(len(jit)),
                   "mean": float(jit.mean()) if len(jit) else None,
                   "median": float(np.median(jit)) if len(jit) else None,
                   "p95": float(np.percentile(jit, 95)) if len(jit) else None},
        "detector": {"frames_run": int(len(ran)), "found": int(len(ran) - len(missed)),
                     "missed_runs": _runs(missed)},
    }
    if cfg.boxes == "detector":
        out["detector"]["note"] = "a missed frame keeps the previous frame's box"
    return out


def summary_record(result: TrackResult, source: VideoSource, cfg: TrackConfig, method: str,
                   prov: Provenance) -> dict[str, Any]:
    tracked = int(result.tracked.sum())
    return {
        "video": str(source.path), "fps": source.fps, "size": list(source.size), "method": method,
        "method_version": prov.method_version, "config_hash": prov.config_hash,
        "train_data_hash": prov.train_data_hash, "boxes": cfg.boxes, "config": dataclasses.asdict(cfg),
        "working_scale": float(result.to_work[0, 0]), "working_size": result.work_size,
        "seconds_per_frame": result.seconds / max(tracked, 1),
        "annotations": "none: no accuracy is measured; jitter is the method's own track's",
        **stability_summary(result, cfg),
    }


def write_annot(folder: Path, result: TrackResult) -> None:
    from redbench.datasets.pts import format_pts, to_one_based

    folder.mkdir()
    for t in np.flatnonzero(result.tracked):  # the whole folder is staged: plain writes
        (folder / f"{t + 1:06d}.pts").write_text(format_pts(to_one_based(result.landmarks[t])), encoding="utf-8")


def landmarks_csv(result: TrackResult, clip_id: str) -> str:
    buf = io.StringIO()
    buf.write(",".join(["clip_id", "frame_index", *(f"{a}{i}" for i in range(68) for a in "xy")]) + "\n")
    for t in np.flatnonzero(result.tracked):
        xy = ",".join(f"{v:.6f}" for v in result.landmarks[t].reshape(-1))
        buf.write(f"{clip_id},{t},{xy}\n")
    return buf.getvalue()


def overlay_frame(image: np.ndarray, result: TrackResult, t: int, method: str) -> np.ndarray:
    """One frame (RGB) with the method's landmarks, its box and a status line."""
    img = image.copy()
    radius = max(1, round(max(img.shape[:2]) / 400))  # dots that stay visible on large frames
    if result.tracked[t]:
        draw_box(img, result.boxes[t], GREY)
        draw_points(img, result.landmarks[t], method_colour(0), radius=radius)
        status = "tracking"
    else:
        status = "no face"
    found = result.detector_found.get(t)
    det = "" if found is None else (" detector: face" if found else " detector: none")
    put_label(img, f"{t + 1}/{len(result.tracked)} {method}: {status}{det}", (3, 12))
    return img


def write_overlay(path: Path, source: VideoSource, result: TrackResult, method: str,
                  progress: bool = False) -> None:
    import cv2

    w, h = source.size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*OVERLAY_CODECS[path.suffix[1:]]), source.fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot open a {OVERLAY_CODECS[path.suffix[1:]]} video writer")
    try:
        for t, image in enumerate(tqdm(source.frames(), total=source.n_frames, disable=not progress,
                                       desc="overlay", unit="frame")):
            writer.write(cv2.cvtColor(overlay_frame(image, result, t, method), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_track_folder(stage: Path, result: TrackResult, source: VideoSource, cfg: TrackConfig, method: str,
                       prov: Provenance, overlay: str = "avi", progress: bool = False) -> dict[str, Any]:
    """Write every output into the (empty, staged) folder `stage`; returns the summary written."""
    from redbench._io import write_json_atomic

    if overlay not in OVERLAY_CODECS:
        raise ValueError(f"overlay must be one of {', '.join(OVERLAY_CODECS)}, got {overlay!r}")
    write_annot(stage / "annot", result)
    (stage / "landmarks.csv").write_text(landmarks_csv(result, source.name), encoding="utf-8")
    write_overlay(stage / f"overlay.{overlay}", source, result, method, progress)
    summary = summary_record(result, source, cfg, method, prov)
    write_json_atomic(stage / "summary.json", summary)
    return summary
