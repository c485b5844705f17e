"""Training frames for the static baselines: the same frames of the same training shards for every method.

Frames come from the `train` split of the given shard folders, every `stride`-th frame of each clip (stride
chosen so at most `max_frames` are used; consecutive video frames are near duplicates), unreliable frames
skipped. The start offset within each clip is drawn from `seed`, so the selection is reproducible.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from tqdm import tqdm

from redbench.datasets.input_crop import square_crop, to_input
from redbench.methods.protocol import PathLike, as_manifest_dirs

log = logging.getLogger(__name__)

FIELDS = ("crops", "landmarks", "boxes/gt", "unreliable")
VAL_FRAMES = 500  # validation frames of the held-out people for the static baselines (RED: 10 clips x 50)


@dataclass(frozen=True)
class TrainFrames:
    """Selected training frames resampled by one method's box adapter."""

    images: np.ndarray  # (N, s, s, 3) uint8 method inputs
    points: np.ndarray  # (N, 68, 2) float64 landmarks in input coords


def validation_split(manifests: PathLike | Sequence[PathLike], val_fraction: float
                     ) -> tuple[frozenset[str], frozenset[str]]:
    """(training, validation) identity names of the `train` split: the people RED validates on too
    (split_by_identity with split seed 0, whatever the training seed)."""
    from redbench.datasets.loaders import split_by_identity
    from redbench.datasets.shards import load_manifest

    names = []
    for d in as_manifest_dirs(manifests):
        m = load_manifest(d)
        for entry in m.entries("train"):
            with m.open(entry) as reader:
                names += [rec.identity_name for rec in reader.clips]
    return split_by_identity(names, val_fraction, seed=0)


def iter_train_clips(manifests: PathLike | Sequence[PathLike], max_frames: int, seed: int, progress: bool = False,
                     fields: Sequence[str] = FIELDS, identities: frozenset[str] | None = None
                     ) -> Iterator[dict[str, np.ndarray]]:
    """Yield, per training clip of the given identities (None: all), the selected frames' arrays by shard
    name: by default crops (T,S,S,3), landmarks (T,68,2), boxes/gt (T,4), unreliable (T,)."""
    from redbench.datasets.shards import load_manifest

    rng = np.random.default_rng(seed)
    manifests_ = [load_manifest(d) for d in as_manifest_dirs(manifests)]
    total = sum(rec.n_frames for m in manifests_ for e in m.entries("train") for rec in _clips(m, e, identities))
    if total == 0:
        raise ValueError(f"no training frames in {[str(m.root) for m in manifests_]} (train split is empty)")
    stride = max(1, math.ceil(total / max_frames))
    log.info("training frames: %d in the shards, every %d-th used", total, stride)
    bar = tqdm(total=total, disable=not progress, desc="read train frames", unit="frame")
    for m in manifests_:
        for entry in m.entries("train"):
            with m.open(entry) as reader:
                for i, rec in enumerate(reader.clips):
                    if identities is not None and rec.identity_name not in identities:
                        continue
                    start = int(rng.integers(stride)) % max(rec.n_frames, 1)
                    arrays = reader.read_clip(i, fields=sorted({*fields, "unreliable"}))
                    keep = np.arange(start, rec.n_frames, stride)
                    keep = keep[~arrays["unreliable"][keep]]
                    bar.update(rec.n_frames)
                    if len(keep):
                        yield {k: v[keep] for k, v in arrays.items()}
    bar.close()


def _clips(manifest, entry, identities: frozenset[str] | None) -> list:
    with manifest.open(entry) as reader:
        return [r for r in reader.clips if identities is None or r.identity_name in identities]


def load_train_frames(manifests: PathLike | Sequence[PathLike], max_frames: int, seed: int, scale: float,
                      size: int, progress: bool = False, identities: frozenset[str] | None = None) -> TrainFrames:
    """The selected frames of the given identities (None: all) through the `square_crop` adapter (box
    squared, x scale, resized to size)."""
    images, points = [], []
    for clip in iter_train_clips(manifests, max_frames, seed, progress, identities=identities):
        img, aff = square_crop(clip["crops"], clip["boxes/gt"], scale, size)
        images.append(img)
        points.append(to_input(clip["landmarks"], aff))
    return TrainFrames(np.concatenate(images), np.concatenate(points))
