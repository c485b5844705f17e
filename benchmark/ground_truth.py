"""Ground truth for scoring, read from a dataset's test shards without touching the crops.

The table is keyed by (clip_id, frame_index) and sorted by that key, so prediction files written in any
order are aligned to it with one searchsorted. Ground truth is verified where it is scored: each test
shard's sha256 is checked against the manifest before it is read, and non-finite or absurd landmarks are
refused with the shard, clip and frame named.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# No image is 100,000 px wide (the same bound as the prediction store's).
MAX_ABS_COORD = 1e5

_FIELDS = ("landmarks_orig", "occluded", "occlusion_known", "self_occluded", "pose", "pose_pnp", "unreliable",
           "frame_index")


class GroundTruthError(ValueError):
    """Ground truth that cannot be scored against (duplicate keys, degenerate frames); names the frame."""


@dataclass(frozen=True)
class GroundTruth:
    dataset: str
    data_source: str  # "synthetic" | "real"
    manifest_sha256: str
    clip_ids: np.ndarray  # (N,) str, sorted together with frame_indices
    frame_indices: np.ndarray  # (N,) int64
    landmarks: np.ndarray  # (N, 68, 2) float64, original image coordinates
    occluded: np.ndarray  # (N, 68) bool, covered by an occluder
    occlusion_known: np.ndarray  # (N,) bool
    self_occluded: np.ndarray  # (N, 68) bool
    pose: np.ndarray  # (N, 3) yaw, pitch, roll degrees from the source, NaN where unknown
    pose_pnp: np.ndarray  # (N, 3) estimated from the GT landmarks
    unreliable: np.ndarray  # (N,) bool
    subset: np.ndarray  # (N,) str: 300vw category1..3, 300w common|challenging, tf
    identity: np.ndarray  # (N,) str

    def __len__(self) -> int:
        return len(self.frame_indices)

    def take(self, rows: np.ndarray) -> "GroundTruth":
        """The rows `rows` (K,) of every per-frame array."""
        per_frame = {f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)
                     if isinstance(getattr(self, f.name), np.ndarray)}
        return dataclasses.replace(self, **per_frame)

    def clip_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes (N,) int64 in [0, C), names (C,) str): a clip number per row, in sorted clip order."""
        # The table is sorted by clip id: each change of id starts the next clip (no string sort)
        new_clip = np.r_[True, self.clip_ids[1:] != self.clip_ids[:-1]] if len(self) else np.zeros(0, bool)
        return np.cumsum(new_clip) - 1, self.clip_ids[new_clip]

    def rows_of(self, clip_ids: np.ndarray, frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows (K,) int64, found (K,) bool): the row of each key; rows[~found] are meaningless (0)."""
        gt_codes, names = self.clip_codes()
        # One int64 key per (clip, frame): clip code x span + frame, span above every GT frame index. A query
        # frame outside [0, span) is no GT frame: it is clamped before the multiply, so no key can overflow
        # (2**62 would otherwise wrap onto valid keys) and left unfound.
        span = int(self.frame_indices.max(initial=0)) + 1
        gt_keys = gt_codes.astype(np.int64) * span + self.frame_indices  # sorted: the table is sorted
        pos = np.searchsorted(names, clip_ids)
        known = (pos < len(names)) & (names[np.minimum(pos, len(names) - 1)] == np.asarray(clip_ids))
        frames = np.asarray(frame_indices, dtype=np.int64)
        in_span = (frames >= 0) & (frames < span)
        known &= in_span
        keys = pos.astype(np.int64) * span + np.where(in_span, frames, 0)
        at = np.searchsorted(gt_keys, keys)
        found = known & (at < len(gt_keys)) & (gt_keys[np.minimum(at, len(gt_keys) - 1)] == keys)
        return np.where(found, at, 0).astype(np.int64), found


def load_ground_truth(manifest_dir: str | os.PathLike, verify: bool = True) -> GroundTruth:
    """The GT of every test frame listed in manifest_dir/manifest.json.

    Reads only the label arrays for scoring; verify=True (the default: what is scored must be what
    preprocess wrote) first checks each shard's sha256 against the manifest, which reads the whole file
    once (0.18 s for the default run's 91 MB 300-VW test shard on 2 busy cores). Predictions are tied to
    the manifest by its sha256 (each prediction file records the manifest it was made from), so every
    scored number is tied to verified bytes.
    """
    from redbench.datasets.shards import load_manifest

    manifest = load_manifest(manifest_dir)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (*_FIELDS, "clip_id", "subset", "identity")}
    entries = manifest.entries("test")
    if not entries:
        raise FileNotFoundError(f"{Path(manifest_dir)}: the manifest lists no test shards")
    for entry in entries:
        with manifest.open(entry, verify=verify) as reader:
            for i, rec in enumerate(reader.clips):
                arrays = reader.read_clip(i, fields=_FIELDS)
                _check_landmarks(reader.path, rec.clip_id, arrays["landmarks_orig"], arrays["frame_index"])
                t = rec.n_frames
                for k in _FIELDS:
                    parts[k].append(np.asarray(arrays[k]))
                parts["clip_id"].append(np.full(t, rec.clip_id, dtype=object))
                parts["subset"].append(np.full(t, rec.subset, dtype=object))
                parts["identity"].append(np.full(t, rec.identity_name, dtype=object))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    gt = make_ground_truth(
        manifest.dataset, manifest.data_source, manifest.sha256, cat["clip_id"], cat["frame_index"],
        cat["landmarks_orig"], occluded=cat["occluded"], occlusion_known=cat["occlusion_known"],
        self_occluded=cat["self_occluded"], pose=cat["pose"], pose_pnp=cat["pose_pnp"],
        unreliable=cat["unreliable"], subset=cat["subset"], identity=cat["identity"],
    )
    dup = (gt.clip_ids[1:] == gt.clip_ids[:-1]) & (gt.frame_indices[1:] == gt.frame_indices[:-1])
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        raise GroundTruthError(f"{manifest.root}: test shards hold clip {gt.clip_ids[j]!s} frame "
                         f"{int(gt.frame_indices[j])} twice")
    log.info("ground truth of %s: %d test frames", manifest.dataset, len(gt))
    return gt


def _check_landmarks(path: Path, clip_id: str, landmarks: np.ndarray, frame_index: np.ndarray) -> None:
    """Refuse NaN/inf, absurd or degenerate ground truth of one clip, naming the shard, clip and frame."""
    lm = np.asarray(landmarks, dtype=np.float64)  # (T, 68, 2)
    finite = np.isfinite(lm).all(axis=(1, 2))
    sane = finite & (np.abs(np.where(np.isfinite(lm), lm, 0)) <= MAX_ABS_COORD).all(axis=(1, 2))
    span = np.where(finite, np.ptp(np.where(np.isfinite(lm), lm, 0), axis=1).max(axis=1), 0)  # (T,)
    for bad, what in ((~finite, "NaN/inf landmarks"), (~sane, f"landmarks beyond +-{MAX_ABS_COORD:g} px"),
                      (span <= 1.0, "landmarks spanning at most 1 px (no face)")):
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise GroundTruthError(f"{path}: clip {clip_id!r} frame {int(frame_index[j])}: ground truth has {what} "
                                   f"({int(bad.sum())} frame(s) of this clip); re-run preprocess")


def make_ground_truth(dataset: str, data_source: str, manifest_sha256: str, clip_ids, frame_indices, landmarks,
                      **per_frame: np.ndarray) -> GroundTruth:
    """A GroundTruth sorted by key from arrays; optional per-frame fields default to "not annotated".

    Defaults: nothing occluded and occlusion unknown, pose NaN, reliable, subset = dataset, identity = clip id.
    """
    ids = np.asarray(clip_ids).astype(str)
    idx = np.asarray(frame_indices, dtype=np.int64)
    n = len(ids)
    defaults = {
        "occluded": np.zeros((n, 68), bool), "occlusion_known": np.zeros(n, bool),
        "self_occluded": np.zeros((n, 68), bool), "pose": np.full((n, 3), np.nan),
        "pose_pnp": np.full((n, 3), np.nan), "unreliable": np.zeros(n, bool),
        "subset": np.full(n, dataset), "identity": ids,
    }
    unknown = set(per_frame) - set(defaults)
    assert not unknown, f"unknown ground-truth fields {sorted(unknown)}"
    fields = {**defaults, **per_frame}
    dtypes = {"pose": np.float64, "pose_pnp": np.float64, "subset": str, "identity": str}
    order = np.lexsort((idx, ids))
    arrays = {k: np.asarray(v).astype(dtypes.get(k, bool))[order] for k, v in fields.items()}
    return GroundTruth(dataset=dataset, data_source=data_source, manifest_sha256=manifest_sha256,
                       clip_ids=ids[order], frame_indices=idx[order],
                       landmarks=np.asarray(landmarks, dtype=np.float64)[order], **arrays)
