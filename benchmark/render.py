"""`redbench render`: one test clip as a video, every chosen method in its own panel beside the ground truth,
and a running per-frame NME trace under the panels.

Frames are the test shards' context crops (what every method saw), the ground truth their landmarks, and each
method's landmarks come from its prediction store (original-image coordinates, mapped into each frame's crop
with the inverse of its crop_to_orig). Per-frame NME is redbench.benchmark.metrics.nme (inter-ocular, 68
points) on original coordinates, as compare scores it. A clip is named by id, or picked as the worst or the
median clip of one method by its clip mean NME.

Output bytes depend only on the inputs: frames are drawn with integer geometry and Hershey fonts
(benchmark/draw.py), resized with nearest-neighbour sampling, and encoded by OpenCV's own MJPG/mp4v writers
or Pillow's GIF writer, none of which stamps a date or a random id.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from redbench.benchmark.draw import GT, draw_points, error_trace, method_colour, put_label

PICKS = ("worst", "median")
VIDEO_SUFFIXES = (".avi", ".mp4", ".gif")
NME_LABEL = "NME inter-ocular, 68 points"
HEADER_H = 30


class RenderError(ValueError):
    """A clip or prediction file that cannot be rendered; the message names it."""


@dataclass(frozen=True)
class ClipFrames:
    clip_id: str
    subset: str
    data_source: str
    crops: np.ndarray  # (T, S, S, 3) uint8
    landmarks: np.ndarray  # (T, 68, 2) ground truth, crop coords
    landmarks_orig: np.ndarray  # (T, 68, 2) ground truth, original coords
    crop_to_orig: np.ndarray  # (T, 2, 3)
    frame_index: np.ndarray  # (T,)


@dataclass(frozen=True)
class MethodTrack:
    name: str
    box_protocol: str
    landmarks: np.ndarray  # (T, 68, 2) crop coords, NaN where the store lacks the frame
    nme: np.ndarray  # (T,) NaN where the store lacks the frame


def prediction_path(predictions_dir: str | os.PathLike, method: str, dataset: str) -> Path:
    return Path(predictions_dir) / method / f"{dataset}.h5"


def _check_meta(path: Path, meta, manifest) -> None:
    if meta.dataset != manifest.dataset or meta.test_manifest_hash != manifest.sha256:
        raise RenderError(f"{path}: made from other test shards ({meta.dataset}, manifest "
                          f"{meta.test_manifest_hash[:12]}...) than {manifest.root} ({manifest.sha256[:12]}...): "
                          "predict again")


def clip_mean_nmes(manifest_dir: str | os.PathLike, pred_path: str | os.PathLike, gt=None) -> dict[str, float]:
    """Clip id -> mean per-frame NME (inter-ocular, 68 points) of one prediction file over its frames.
    gt: the shards' GroundTruth when the caller has it."""
    from redbench.benchmark.ground_truth import load_ground_truth
    from redbench.benchmark.metrics import nme
    from redbench.benchmark.store import read_predictions
    from redbench.datasets.shards import load_manifest

    _check_meta(Path(pred_path), (p := read_predictions(pred_path)).meta, load_manifest(manifest_dir))
    gt = load_ground_truth(manifest_dir) if gt is None else gt
    rows, found = gt.rows_of(p.clip_ids, p.frame_indices)
    if not found.all():
        raise RenderError(f"{pred_path}: {int((~found).sum())} frame(s) are not test frames of {manifest_dir}")
    errors = nme(p.landmarks, gt.landmarks[rows], "inter_ocular")
    ids, codes = np.unique(p.clip_ids, return_inverse=True)
    sums = np.bincount(codes, weights=errors, minlength=len(ids))
    counts = np.bincount(codes, minlength=len(ids))
    return {str(c): float(s / n) for c, s, n in zip(ids, sums, counts)}


def pick_clip(clip_nmes: dict[str, float], how: str) -> str:
    """The clip with the largest mean NME ("worst") or the median one ("median": of an even number of clips,
    the lower of the middle two); ties go to the smaller clip id."""
    if how not in PICKS:
        raise ValueError(f"pick must be one of {', '.join(PICKS)}, got {how!r}")
    if not clip_nmes:
        raise RenderError("no clips to pick from")
    ranked = sorted(clip_nmes, key=lambda c: (clip_nmes[c], c))
    return ranked[-1] if how == "worst" else ranked[(len(ranked) - 1) // 2]


def read_clip(manifest_dir: str | os.PathLike, clip_id: str) -> ClipFrames:
    """The test clip `clip_id` from the shards (crops, ground truth, transforms)."""
    from redbench.datasets.shards import load_manifest

    manifest = load_manifest(manifest_dir)
    fields = ("crops", "landmarks", "landmarks_orig", "crop_to_orig", "frame_index")
    for entry in manifest.entries("test"):
        with manifest.open(entry) as reader:
            for i, rec in enumerate(reader.clips):
                if rec.clip_id == clip_id:
                    a = reader.read_clip(i, fields=fields)
                    return ClipFrames(clip_id, rec.subset, manifest.data_source, np.asarray(a["crops"]),
                                      *(np.asarray(a[k], np.float64) for k in fields[1:4]),
                                      np.asarray(a["frame_index"], np.int64))
    known = [c.clip_id for e in manifest.entries("test") for c in manifest.open(e, verify=False).clips][:5]
    raise RenderError(f"{manifest.root}: no test clip {clip_id!r} (e.g. {', '.join(known)})")


def method_track(pred_path: str | os.PathLike, clip: ClipFrames, manifest) -> MethodTrack:
    """One method's landmarks on the clip's frames, in crop coordinates, and their per-frame NME."""
    from redbench.benchmark.metrics import nme
    from redbench.benchmark.store import read_predictions
    from redbench.datasets.geometry import apply_affine, invert_affine

    p = read_predictions(pred_path)
    _check_meta(Path(pred_path), p.meta, manifest)
    orig = np.full(clip.landmarks.shape, np.nan)
    mine = np.flatnonzero(p.clip_ids == clip.clip_id)
    at = {int(f): k for k, f in enumerate(clip.frame_index)}
    for r in mine:
        if int(p.frame_indices[r]) in at:
            orig[at[int(p.frame_indices[r])]] = p.landmarks[r]
    have = np.isfinite(orig).all(axis=(1, 2))
    if not have.any():
        raise RenderError(f"{pred_path}: no predictions for clip {clip.clip_id!r}")
    errors = np.full(len(orig), np.nan)
    errors[have] = nme(orig[have], clip.landmarks_orig[have], "inter_ocular")
    return MethodTrack(p.meta.method, p.meta.box_protocol, apply_affine(orig, invert_affine(clip.crop_to_orig)),
                       errors)


LABEL_H = 15  # px of the strip above each panel naming the method and its NME on the frame


def _panel(crop: np.ndarray, gt: np.ndarray, track: MethodTrack, t: int, k: int, zoom: int) -> np.ndarray:
    """A method's panel: a strip with its name and NME, then the crop with the ground truth and its points."""
    import cv2

    img = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    radius = max(1, zoom // 2)
    draw_points(img, gt, GT, zoom, radius)
    draw_points(img, track.landmarks[t], method_colour(k), zoom, radius)
    strip = np.zeros((LABEL_H, img.shape[1], 3), np.uint8)
    e = track.nme[t]
    put_label(strip, f"{track.name} {100 * e:.2f}%" if np.isfinite(e) else f"{track.name} -", (3, 11),
              method_colour(k), scale=0.35, bar=False)
    return np.concatenate([strip, img], axis=0)


def render_frames(clip: ClipFrames, tracks: Sequence[MethodTrack], zoom: int = 2, trace_height: int = 110,
                  stride: int = 1) -> Iterator[np.ndarray]:
    """The rendered frames (RGB uint8): a two-line header, one panel a method (its points and the ground truth
    in green), and the NME trace of every method with a cursor on the current frame."""
    n = len(clip.frame_index)
    errors = np.stack([100 * tr.nme for tr in tracks])  # (M, T) in %
    finite = errors[np.isfinite(errors)]
    y_max = float(np.ceil(finite.max())) if finite.size else 1.0
    boxes = "/".join(sorted({tr.box_protocol for tr in tracks}))
    source = f"{clip.data_source.upper() if clip.data_source == 'synthetic' else clip.data_source} data"
    for t in range(0, n, stride):
        panels = np.concatenate([_panel(clip.crops[t], clip.landmarks[t], tr, t, k, zoom)
                                 for k, tr in enumerate(tracks)], axis=1)
        width = panels.shape[1]
        top = np.zeros((HEADER_H, width, 3), np.uint8)
        put_label(top, f"{clip.clip_id} ({clip.subset}) frame {int(clip.frame_index[t]) + 1}/{n}", (3, 11),
                  bar=False, scale=0.35)
        put_label(top, f"{source}; {NME_LABEL}, {boxes} boxes", (3, 25), bar=False, scale=0.35)
        trace = error_trace(errors, [method_colour(k) for k in range(len(tracks))], [tr.name for tr in tracks],
                            width, trace_height, t, y_max, "NME %")
        yield np.concatenate([top, panels, trace], axis=0)


def write_frames(path: Path, frames: Iterator[np.ndarray], fps: float) -> int:
    """Encode RGB frames to `path` by its suffix: .avi (MJPG), .mp4 (mp4v) or .gif (Pillow). Returns the count."""
    import cv2

    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: the output must end in {', '.join(VIDEO_SUFFIXES)}")
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=256) for f in frames]
        if not images:
            raise RenderError(f"{path}: no frames to write")
        images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
                       optimize=False)
        return len(images)
    writer, n = None, 0
    try:
        for f in frames:
            if writer is None:
                fourcc = cv2.VideoWriter_fourcc(*("MJPG" if suffix == ".avi" else "mp4v"))
                writer = cv2.VideoWriter(str(path), fourcc, fps, (f.shape[1], f.shape[0]))
                if not writer.isOpened():
                    raise OSError(f"{path}: OpenCV cannot open a video writer for it")
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    return n


@contextlib.contextmanager
def staged_file(out: Path) -> Iterator[Path]:
    """A temporary path beside `out` with out's suffix (the encoders pick the container by it), renamed onto
    `out` on success and removed on error."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".part{out.suffix}", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def render_clip(manifest_dir: str | os.PathLike, clip_id: str, pred_paths: Sequence[str | os.PathLike],
                out: str | os.PathLike, fps: float = 25.0, zoom: int = 2, stride: int = 1) -> int:
    """Render `clip_id` with the given prediction files into `out` (written whole); returns the frames."""
    from redbench.datasets.shards import load_manifest

    out = Path(out)
    if out.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{out}: the output must end in {', '.join(VIDEO_SUFFIXES)}")
    manifest = load_manifest(manifest_dir)
    clip = read_clip(manifest_dir, clip_id)
    tracks = [method_track(p, clip, manifest) for p in pred_paths]
    with staged_file(out) as tmp:
        return write_frames(tmp, render_frames(clip, tracks, zoom, stride=stride), fps / stride)
