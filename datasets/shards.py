"""HDF5 clip shards: the schema, the reader and the manifest (layout and measurements: docs/shards.md).

A shard holds whole clips of one split. Per-frame arrays are concatenated along one frame axis; the clip
table gives each clip's offset and length, so reading a window of a clip is one slice per array. The
writer lives in `redbench.datasets.shard_writer`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from redbench._io import MAX_JSON_BYTES, InputFileError, check_regular_file, sha256_bytes, sha256_file
from redbench.landmarks import N_POINTS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BOX_NAMES = ("gt", "gt_jitter", "detector")
MANIFEST_NAME = "manifest.json"

# Per-frame arrays: name -> (dtype, shape after the frame axis; "S" is the crop size).
FRAME_FIELDS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "crops": ("uint8", ("S", "S", 3)),
    "landmarks": ("float32", (N_POINTS, 2)),
    "landmarks_orig": ("float32", (N_POINTS, 2)),
    "crop_to_orig": ("float32", (2, 3)),
    "occluded": ("bool", (N_POINTS,)),
    "occlusion_known": ("bool", ()),
    "self_occluded": ("bool", (N_POINTS,)),
    "pose": ("float32", (3,)),
    "pose_pnp": ("float32", (3,)),
    **{f"boxes/{b}": ("float32", (4,)) for b in BOX_NAMES},
    "detector_found": ("bool", ()),
    "unreliable": ("bool", ()),
    "frame_index": ("int32", ()),
}
CLIP_FIELDS = ("clip_id", "identity", "identity_name", "split", "subset", "offset", "n_frames")


class ShardError(ValueError):
    """A shard or manifest that cannot be trusted; the message names the file."""


@dataclass(frozen=True)
class ClipRecord:
    clip_id: str  # "300vw/114" (a video) or "300w/helen/testset/296814969_3" (a still image)
    identity: int  # id into the dataset's identity table (manifest `identities`)
    identity_name: str
    split: str  # "train" | "test"
    subset: str  # 300vw: train|category1..3; 300w: train|common|challenging; tf: tf
    n_frames: int


@dataclass(frozen=True)
class ClipData:
    """T consecutive frames of one clip. All coordinates are 0-based pixels."""

    crops: np.ndarray  # (T, S, S, 3) uint8 RGB context crops
    landmarks: np.ndarray  # (T, 68, 2) float32, context-crop coords
    landmarks_orig: np.ndarray  # (T, 68, 2) float32, original image coords
    crop_to_orig: np.ndarray  # (T, 2, 3) float32 affine crop -> original image
    occluded: np.ndarray  # (T, 68) bool, covered by an occluder (False where unknown)
    occlusion_known: np.ndarray  # (T,) bool, whether `occluded` was annotated
    self_occluded: np.ndarray  # (T, 68) bool, hidden by the head itself (False where unknown)
    pose: np.ndarray  # (T, 3) float32 yaw, pitch, roll degrees from the source; NaN where unknown
    pose_pnp: np.ndarray  # (T, 3) float32 yaw, pitch, roll degrees estimated from GT landmarks (PnP)
    boxes: dict[str, np.ndarray]  # name -> (T, 4) float32 (x0, y0, x1, y1) in crop coords
    detector_found: np.ndarray  # (T,) bool, False where the detector box is a fallback
    unreliable: np.ndarray  # (T,) bool, 300-VW's unreliable-frame lists
    frame_index: np.ndarray  # (T,) int32, 0-based position in the source video

    def __len__(self) -> int:
        return len(self.frame_index)

    def field(self, name: str) -> np.ndarray:
        """An array by its shard name ("crops", "boxes/gt", ...)."""
        if name.startswith("boxes/"):
            return self.boxes[name.split("/", 1)[1]]
        return getattr(self, name)

    @staticmethod
    def from_fields(arrays: dict[str, np.ndarray]) -> "ClipData":
        boxes = {b: arrays[f"boxes/{b}"] for b in BOX_NAMES}
        plain = {k: v for k, v in arrays.items() if not k.startswith("boxes/")}
        return ClipData(boxes=boxes, **plain)

    def validate(self, crop_size: int) -> None:
        """Raise ValueError when an array has the wrong shape or dtype for a shard of `crop_size`."""
        t = len(self)
        for name, (dtype, tail) in FRAME_FIELDS.items():
            a = self.field(name)
            want = (t, *(crop_size if d == "S" else d for d in tail))
            if a.shape != want or a.dtype != np.dtype(dtype):
                raise ValueError(f"{name}: expected {want} {dtype}, got {a.shape} {a.dtype}")


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


class ShardReader:
    """Read clips from one shard. Checks the schema version on open; with `sha256`, the file's checksum first.

    Use as a context manager, or call close(). Not picklable while open: open one per DataLoader worker.
    """

    def __init__(self, path: str | os.PathLike, sha256: str | None = None):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise ShardError(f"{self.path}: shard is missing (deleted after preprocess?); re-run preprocess")
        if sha256 is not None:
            got = sha256_file(self.path)
            if got != sha256:
                raise ShardError(f"{self.path}: sha256 mismatch (manifest {sha256[:12]}..., file {got[:12]}...): "
                                 "the shard is corrupted or was rewritten; re-run preprocess")
        try:
            self._f = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise
        except OSError as e:
            raise ShardError(f"{self.path}: not a readable HDF5 shard (truncated or corrupted?): {e}") from None
        try:
            self._load_header()
        except BaseException:
            self._f.close()
            raise

    def _load_header(self) -> None:
        attrs = self._f.attrs
        version = attrs.get("schema_version")
        if version is None:
            raise ShardError(f"{self.path}: no schema_version attribute: not a redbench shard")
        if int(version) != SCHEMA_VERSION:
            raise ShardError(f"{self.path}: shard schema version {int(version)}, this redbench reads version "
                             f"{SCHEMA_VERSION}; re-run preprocess")
        try:
            self.dataset = str(attrs["dataset"])
            self.data_source = str(attrs["data_source"])
            self.split = str(attrs["split"])
            self.crop_size = int(attrs["crop_size"])
            c = self._f["clips"]
            table = {k: c[k][()] for k in CLIP_FIELDS}
            self._arrays = {name: self._f[name] for name in FRAME_FIELDS}
        except (KeyError, OSError) as e:
            raise ShardError(f"{self.path}: missing or unreadable part of the shard layout: {e}") from None
        self.offsets = table["offset"].astype(np.int64)  # (C,)
        ids, names = _decode(table["clip_id"]), _decode(table["identity_name"])
        splits, subsets = _decode(table["split"]), _decode(table["subset"])
        self.clips = [
            ClipRecord(ids[i], int(table["identity"][i]), names[i], splits[i], subsets[i], int(table["n_frames"][i]))
            for i in range(len(ids))
        ]
        n_total = int(self.offsets[-1] + self.clips[-1].n_frames) if self.clips else 0
        self.n_frames = int(attrs.get("n_frames", -1))
        wrong = [n for n, a in self._arrays.items() if len(a) != n_total]
        if self.n_frames != n_total or wrong:
            raise ShardError(f"{self.path}: clip table covers {n_total} frames, the file says {self.n_frames}"
                             + (f" and {wrong[0]} holds {len(self._arrays[wrong[0]])}" if wrong else ""))

    def read_clip(self, i: int, start: int = 0, stop: int | None = None,
                  fields: Iterable[str] | None = None) -> ClipData | dict[str, np.ndarray]:
        """Frames [start, stop) of clip i. With `fields`, a dict of just those arrays (faster for loaders)."""
        rec = self.clips[i]
        stop = rec.n_frames if stop is None else stop
        if not 0 <= start <= stop <= rec.n_frames:
            raise IndexError(f"{self.path}: frames [{start}, {stop}) outside clip {rec.clip_id!r} of {rec.n_frames}")
        lo, hi = int(self.offsets[i]) + start, int(self.offsets[i]) + stop
        names = list(FRAME_FIELDS) if fields is None else list(fields)
        try:
            arrays = {n: self._arrays[n][lo:hi] for n in names}
        except OSError as e:
            raise ShardError(f"{self.path}: clip {rec.clip_id!r} frames [{start}, {stop}) unreadable "
                             f"(corrupted or truncated?): {e}") from None
        return ClipData.from_fields(arrays) if fields is None else arrays

    def read_frames(self, fields: Iterable[str], start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Arrays of frames [start, stop) of the whole shard (all clips in order), e.g. for statistics."""
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        try:
            return {n: self._arrays[n][start:stop] for n in fields}
        except OSError as e:
            raise ShardError(f"{self.path}: frames [{start}, {stop}) unreadable "
                             f"(corrupted or truncated?): {e}") from None

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "ShardReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> None:
        raise TypeError(f"{self.path}: an open ShardReader cannot be pickled; open one per worker")


@dataclass(frozen=True)
class ShardEntry:
    path: str  # file name relative to the manifest's folder
    split: str
    n_clips: int
    n_frames: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    root: Path
    dataset: str
    data_source: str  # "synthetic" | "real"
    crop_size: int
    identities: tuple[str, ...]  # identity id -> source name
    shards: tuple[ShardEntry, ...]
    info: dict[str, Any]  # counts, the preprocess config, pose-estimator error on synthetic data
    sha256: str  # of manifest.json's bytes

    def paths(self, split: str) -> list[Path]:
        return [self.root / s.path for s in self.shards if s.split == split]

    def entries(self, split: str | None = None) -> list[ShardEntry]:
        return [s for s in self.shards if split is None or s.split == split]

    def open(self, entry: ShardEntry | str, verify: bool = True) -> ShardReader:
        """Open one listed shard; verify=True checks its sha256 against the manifest first."""
        if isinstance(entry, str):
            matches = [s for s in self.shards if s.path == entry or str(self.root / s.path) == entry]
            if not matches:
                raise ShardError(f"{self.root / MANIFEST_NAME}: lists no shard {entry!r}")
            entry = matches[0]
        return ShardReader(self.root / entry.path, sha256=entry.sha256 if verify else None)

    def verify(self) -> None:
        """Check every shard's sha256; raise ShardError naming the first bad file."""
        for s in self.shards:
            self.open(s, verify=True).close()


def manifest_dict(dataset: str, data_source: str, crop_size: int, identities: Sequence[str],
                  shards: Sequence[ShardEntry], info: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of manifest.json (no timestamps: reruns give identical bytes)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "dataset": dataset,
        "data_source": data_source,
        "crop_size": crop_size,
        "identities": list(identities),
        "shards": [dataclasses.asdict(s) for s in shards],
        **info,
    }


def load_manifest(dir: str | os.PathLike, verify: bool = False) -> Manifest:
    """Read `dir`/manifest.json; verify=True also checks every shard's sha256."""
    root = Path(dir)
    path = root / MANIFEST_NAME if root.is_dir() or not root.suffix else root
    root = path.parent
    if not path.exists():
        raise FileNotFoundError(f"{path}: no manifest (run `redbench preprocess` first)")
    try:
        check_regular_file(path, MAX_JSON_BYTES, "manifest")
    except InputFileError as e:
        raise ShardError(str(e)) from None
    raw = path.read_bytes()
    try:
        obj = json.loads(raw)
        if not isinstance(obj, dict):
            raise ShardError(f"{path}: not a valid shard manifest: expected a JSON object, got {type(obj).__name__}")
        if obj.get("schema_version") != SCHEMA_VERSION:
            raise ShardError(f"{path}: manifest schema version {obj.get('schema_version')}, this redbench reads "
                             f"{SCHEMA_VERSION}; re-run preprocess")
        known = {"schema_version", "dataset", "data_source", "crop_size", "identities", "shards"}
        m = Manifest(
            root=root, dataset=obj["dataset"], data_source=obj["data_source"], crop_size=int(obj["crop_size"]),
            identities=tuple(obj["identities"]), shards=tuple(ShardEntry(**s) for s in obj["shards"]),
            info={k: v for k, v in obj.items() if k not in known}, sha256=sha256_bytes(raw),
        )
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, ShardError):
            raise
        raise ShardError(f"{path}: not a valid shard manifest: {type(e).__name__}: {e}") from None
    if verify:
        m.verify()
    return m
