"""The predict driver: run one method over every test clip of a shard set and write its prediction store.

Every method sees the same frames (every frame of every test clip, in order) with the same boxes from the box
protocol; predictions are mapped from context-crop to original image coordinates with each frame's
crop_to_orig affine. Time per frame is the method's own time (predict_clip, or track_clips under the tracking
protocol), not the shard reads or the write.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from tqdm import tqdm

from redbench.config import param
from redbench.benchmark.store import PredictionMeta, write_predictions
from redbench.datasets.boxes import require_boxes
from redbench.datasets.geometry import apply_affine
from redbench.methods.protocol import BOX_PROTOCOLS, Method, Provenance

log = logging.getLogger(__name__)

FIELDS = ("crops", "crop_to_orig", "frame_index", "boxes/gt", "boxes/gt_jitter", "boxes/detector")
# Frames of crops held at once under the tracking protocol, whose frame t of every held clip runs as one
# batch: 8192 crops of 128 px are 400 MB; the 18 clips of the default 300-VW-style test set (1,800 frames)
# are one group.
TRACK_BATCH_FRAMES = 8192


@dataclass(frozen=True)
class PredictConfig:
    """params `predict:`."""

    box_protocol: str = param("gt", choices=BOX_PROTOCOLS)  # gt | gt_jitter | detector | tracking (boxes['gt'][0], then own predictions)

    def __post_init__(self) -> None:
        if self.box_protocol not in BOX_PROTOCOLS:
            raise ValueError(f"box_protocol must be one of {BOX_PROTOCOLS}, got {self.box_protocol!r}")


def clip_boxes(arrays: dict[str, np.ndarray], box_protocol: str) -> tuple[np.ndarray, bool]:
    """The boxes (T, 4) a method gets under `box_protocol`, and whether it tracks from frame 0's gt box."""
    if box_protocol not in BOX_PROTOCOLS:
        raise ValueError(f"unknown box protocol {box_protocol!r}; known: {', '.join(BOX_PROTOCOLS)}")
    if box_protocol == "tracking":
        return arrays["boxes/gt"].astype(np.float64), True
    return arrays[f"boxes/{box_protocol}"].astype(np.float64), False


def run_method(method: Method, manifest_dir: str | os.PathLike, box_protocol: str, out_path: str | os.PathLike,
               provenance: Provenance, split: str = "test", progress: bool = False) -> PredictionMeta:
    """Predict every frame of every `split` clip of the shard set at `manifest_dir`; write `out_path`.

    Under the tracking protocol a method with `track_clips` gets groups of clips (up to TRACK_BATCH_FRAMES
    frames of crops), frame t of every clip of a group in one batch; otherwise one clip at a time.
    Returns the metadata written.
    """
    from redbench.datasets.shards import load_manifest

    manifest = load_manifest(manifest_dir)
    gt_box_scale = manifest.info.get("preprocess", {}).get("config", {}).get("boxes", {}).get("gt_box_scale", 1.0)
    entries = manifest.entries(split)
    if not entries:
        raise ValueError(f"{manifest.root}: no {split} shards to predict on")
    clip_ids: list[str] = []
    frame_indices, landmarks = [], []
    seconds = 0.0
    batched = box_protocol == "tracking" and hasattr(method, "track_clips")
    bar = tqdm(total=sum(e.n_frames for e in entries), disable=not progress, desc=f"{method.name}", unit="frame")
    for group in _groups(_read_clips(manifest, entries, box_protocol), TRACK_BATCH_FRAMES if batched else 0):
        t0 = time.perf_counter()
        if batched:  # every output in crop coords
            preds = method.track_clips([c.arrays["crops"] for c in group], np.stack([c.boxes[0] for c in group]),
                                       gt_box_scale=gt_box_scale)
        else:
            preds = [method.predict_clip(c.arrays["crops"], c.boxes, c.tracking, gt_box_scale=gt_box_scale)
                     for c in group]
        seconds += time.perf_counter() - t0
        for c, pred in zip(group, preds):
            if pred.shape != (c.n_frames, 68, 2):
                raise ValueError(f"{method.name}: predicted {pred.shape} for clip {c.clip_id!r} of "
                                 f"{c.n_frames} frames; expected ({c.n_frames}, 68, 2)")
            landmarks.append(apply_affine(pred, c.arrays["crop_to_orig"]))
            frame_indices.append(c.arrays["frame_index"].astype(np.int64))
            clip_ids += [c.clip_id] * c.n_frames
            bar.update(c.n_frames)
    bar.close()
    n = len(clip_ids)
    meta = PredictionMeta(
        method=method.name, method_version=provenance.method_version, config_hash=provenance.config_hash,
        train_data_hash=provenance.train_data_hash, box_protocol=box_protocol, dataset=manifest.dataset,
        data_source=manifest.data_source, test_manifest_hash=manifest.sha256,
        seconds_per_frame=seconds / max(n, 1), train_flops=provenance.train_flops, train_seed=provenance.seed,
        written_by="redbench predict",
    )
    write_predictions(out_path, meta, clip_ids, np.concatenate(frame_indices), np.concatenate(landmarks))
    log.info("%s on %s (%s boxes): %d frames, %.2f ms/frame", method.name, manifest.dataset, box_protocol, n,
             1e3 * meta.seconds_per_frame)
    return meta


@dataclass(frozen=True)
class _Clip:
    clip_id: str
    n_frames: int
    arrays: dict[str, np.ndarray]
    boxes: np.ndarray  # (T, 4) the protocol's boxes
    tracking: bool


def _read_clips(manifest, entries, box_protocol: str) -> Iterator[_Clip]:
    """Every clip of the entries in shard order, with its boxes under the protocol (checked)."""
    for entry in entries:
        with manifest.open(entry) as reader:
            for i, rec in enumerate(reader.clips):
                arrays = reader.read_clip(i, fields=FIELDS)
                boxes, tracking = clip_boxes(arrays, box_protocol)
                require_boxes(boxes, box_protocol, f"{reader.path}: clip {rec.clip_id!r}", arrays["frame_index"])
                yield _Clip(rec.clip_id, rec.n_frames, arrays, boxes, tracking)


def _groups(clips: Iterator[_Clip], max_frames: int) -> Iterator[list[_Clip]]:
    """Consecutive clips in groups of at least max_frames frames (the last group: what is left); 0: one each."""
    group, n = [], 0
    for c in clips:
        group.append(c)
        n += c.n_frames
        if n >= max_frames:
            yield group
            group, n = [], 0
    if group:
        yield group
