"""The prediction store: one HDF5 file per method and dataset, `predictions/<method>/<dataset>.h5`.

Layout (schema 1):
    attrs: schema (int), every PredictionMeta field (`train_seed` only where the model was trained here,
           `written_by` and `train_seed` absent in stores written before they were recorded: "legacy")
    clip_ids      (N,) variable-length UTF-8 strings
    frame_indices (N,) int64, the 0-based frame index within the clip
    landmarks     (N, 68, 2) float64, original image coordinates, 0-based pixel centres

The measured seconds per frame live in a sidecar, `<dataset>.timing.json`, not in the file: two runs of the
same method on the same frames then write identical bytes. Writes are atomic (temp file + rename); the
reader checks everything a metric would otherwise trip over (NaN/inf, coordinates no image can have,
shapes, missing fields, duplicate keys) and names the file and frame in its error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from redbench._io import InputFileError, atomic_path, check_regular_file, read_json, write_json_atomic
from redbench.landmarks import N_POINTS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# No image is 100,000 px wide: a coordinate beyond this is a bug (1e30 scored as NME 7.9e26 %), not a guess.
MAX_ABS_COORD = 1e5


class StoreError(ValueError):
    """A prediction file (or the arrays given to write one) that breaks the store's contract."""


@dataclass(frozen=True)
class PredictionMeta:
    method: str
    method_version: str
    config_hash: str
    train_data_hash: str
    box_protocol: str  # "gt" | "gt_jitter" | "detector" | "tracking"
    dataset: str
    data_source: str  # "synthetic" | "real"
    test_manifest_hash: str
    seconds_per_frame: float | None  # from the timing sidecar; None where it is missing
    train_flops: float | None = None  # the model's training FLOPs (train_info.json cost); None: untrained / unknown
    # the seed the model was trained with (its train_info.json); None: pretrained, imported, or a legacy store
    train_seed: int | None = None
    # the command that wrote the store ("redbench predict" | "redbench import"); None: a legacy store, written
    # before stores recorded it (and so without a train_seed even where the model had one)
    written_by: str | None = None

    @property
    def legacy(self) -> bool:
        return self.written_by is None


@dataclass(frozen=True)
class Predictions:
    meta: PredictionMeta
    clip_ids: np.ndarray  # (N,) str
    frame_indices: np.ndarray  # (N,) int64
    landmarks: np.ndarray  # (N, 68, 2) float64, original image coordinates

    def __len__(self) -> int:
        return len(self.frame_indices)

    def keys(self) -> list[tuple[str, int]]:
        """The (clip_id, frame_index) key of every row, in file order."""
        return list(zip(self.clip_ids.tolist(), self.frame_indices.tolist()))


_META_FIELDS = {f.name: f.type for f in dataclasses.fields(PredictionMeta)}
_OPTIONAL_FIELDS = ("seconds_per_frame", "train_flops", "train_seed", "written_by")
_CONTENT_FIELDS = [k for k in _META_FIELDS if k not in _OPTIONAL_FIELDS]
# Frame indices are int32 in the shards (no video has 2**31 frames); a bound also keeps key arithmetic
# (clip code x span + frame) far from int64 overflow.
MAX_FRAME_INDEX = 2**31 - 1


def timing_path(path: str | os.PathLike) -> Path:
    """The sidecar of prediction file `path` holding its measured seconds per frame."""
    path = Path(path)
    return path.with_name(f"{path.stem}.timing.json")


def _check_keys(where: str, clip_ids: np.ndarray, frame_indices: np.ndarray) -> None:
    n = len(clip_ids)
    if frame_indices.ndim != 1 or len(frame_indices) != n:
        raise StoreError(f"{where}: frame_indices has shape {frame_indices.shape}, expected ({n},)")
    if n == 0:
        raise StoreError(f"{where}: no predictions (0 frames)")
    bad = np.flatnonzero((frame_indices < 0) | (frame_indices > MAX_FRAME_INDEX))
    if len(bad):
        i = int(bad[0])
        raise StoreError(f"{where}: {len(bad)} frame index(es) outside 0..{MAX_FRAME_INDEX}, first at row {i} "
                         f"(clip {str(clip_ids[i])!r}, frame {int(frame_indices[i])})")
    # Duplicate keys would be scored twice and silently weight those frames double.
    order = np.lexsort((frame_indices, clip_ids))
    c, f = clip_ids[order], frame_indices[order]
    dup = (c[1:] == c[:-1]) & (f[1:] == f[:-1])
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        raise StoreError(f"{where}: duplicate key (clip {str(c[j])!r}, frame {int(f[j])})")


def _check_landmarks(where: str, clip_ids: np.ndarray, frame_indices: np.ndarray, landmarks: np.ndarray) -> None:
    n = len(clip_ids)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_POINTS, 2) or len(landmarks) != n:
        raise StoreError(f"{where}: landmarks has shape {landmarks.shape}, expected ({n}, {N_POINTS}, 2)")
    # Three reductions without temporaries first (a sum is finite only if every term is, as no in-bounds
    # sum can overflow): a (N, 68, 2) temporary per test cost more than reading the file.
    if n and np.isfinite(landmarks.sum()) and -MAX_ABS_COORD <= landmarks.min() and landmarks.max() <= MAX_ABS_COORD:
        return
    for bad, what in ((~np.isfinite(landmarks).all(axis=(1, 2)), "NaN/inf landmarks"),
                      (~(np.abs(landmarks) <= MAX_ABS_COORD).all(axis=(1, 2)),
                       f"landmarks beyond +-{MAX_ABS_COORD:g} px")):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise StoreError(
                f"{where}: {int(bad.sum())} frame(s) with {what}, first at row {i} "
                f"(clip {str(clip_ids[i])!r}, frame {int(frame_indices[i])})"
            )


def _check_arrays(where: str, clip_ids: np.ndarray, frame_indices: np.ndarray, landmarks: np.ndarray) -> None:
    _check_keys(where, clip_ids, frame_indices)
    _check_landmarks(where, clip_ids, frame_indices, landmarks)


def _as_key_arrays(where: str, clip_ids: Sequence[str], frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray([str(c) for c in clip_ids], dtype=object).astype(str)
    idx = np.asarray(frame_indices)
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        if not np.issubdtype(idx.dtype, np.floating) or not np.all(idx == np.round(idx)):
            raise StoreError(f"{where}: frame_indices must be integers, got dtype {idx.dtype}")
    return ids, idx.astype(np.int64)


def write_predictions(
    path: str | os.PathLike,
    meta: PredictionMeta,
    clip_ids: Sequence[str],
    frame_indices: np.ndarray,
    landmarks: np.ndarray,
) -> None:
    """Write one prediction file atomically. landmarks (N, 68, 2) in original image coordinates, 0-based."""
    import h5py

    path = Path(path)
    where = f"{path} (writing)"
    ids, idx = _as_key_arrays(where, clip_ids, frame_indices)
    lm = np.asarray(landmarks, dtype=np.float64)
    _check_arrays(where, ids, idx, lm)
    # Built in memory and written as bytes: HDF5 never writes to the disk itself, so a full disk is an OSError
    # of one plain write (HDF5 failing inside its own writes leaves state that crashes the process later).
    # The core driver's file image is byte for byte the file HDF5 would write.
    f = h5py.File(path.name, "w", driver="core", backing_store=False)
    try:
        f.attrs["schema"] = SCHEMA_VERSION
        for name in _CONTENT_FIELDS:
            f.attrs[name] = getattr(meta, name)
        if meta.train_flops is not None:
            f.attrs["train_flops"] = float(meta.train_flops)
        if meta.train_seed is not None:
            f.attrs["train_seed"] = int(meta.train_seed)
        if meta.written_by is not None:
            f.attrs["written_by"] = meta.written_by
        f.create_dataset("clip_ids", data=ids.astype(object), dtype=h5py.string_dtype("utf-8"))
        f.create_dataset("frame_indices", data=idx)
        f.create_dataset("landmarks", data=lm, chunks=(min(len(lm), 4096), N_POINTS, 2))
        f.flush()
        image = f.id.get_file_image()
    finally:
        f.close()
    with atomic_path(path, suffix=".h5") as tmp:
        tmp.write_bytes(image)
        # The sidecar before the rename: a prediction file that exists has one (of this run or an earlier one).
        if meta.seconds_per_frame is not None:
            write_json_atomic(timing_path(path), {"seconds_per_frame": float(meta.seconds_per_frame)})
    log.info("wrote %d predictions of %s on %s to %s", len(idx), meta.method, meta.dataset, path)


def _read_meta(path: Path, attrs) -> PredictionMeta:
    missing = [k for k in _CONTENT_FIELDS if k not in attrs]
    if missing:
        raise StoreError(f"{path}: missing metadata field(s) {missing}")
    values: dict = {}
    for name in _CONTENT_FIELDS:
        v = attrs[name]
        values[name] = v.decode() if isinstance(v, bytes) else str(v)
    flops = float(attrs["train_flops"]) if "train_flops" in attrs else None
    seed = attrs.get("train_seed")
    if seed is not None and not np.issubdtype(np.asarray(seed).dtype, np.integer):
        raise StoreError(f"{path}: metadata field 'train_seed' must be an integer, got {seed!r}")
    by = attrs.get("written_by")
    return PredictionMeta(**values, seconds_per_frame=_read_timing(path, attrs), train_flops=flops,
                          train_seed=None if seed is None else int(seed),
                          written_by=None if by is None else by.decode() if isinstance(by, bytes) else str(by))


def _read_timing(path: Path, attrs) -> float | None:
    if "seconds_per_frame" in attrs:  # files written before the sidecar
        return float(attrs["seconds_per_frame"])
    sidecar = timing_path(path)
    if not sidecar.exists():
        return None
    obj = read_json(sidecar, StoreError)
    v = obj.get("seconds_per_frame") if isinstance(obj, dict) else None
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
        raise StoreError(f"{sidecar}: expected {{\"seconds_per_frame\": a number >= 0}}, got {obj!r}")
    return float(v)


def read_meta(path: str | os.PathLike) -> PredictionMeta:
    """Only the metadata of a prediction file (cheap: no arrays are read)."""
    path = Path(path)
    with _open(path) as f:
        _check_schema(path, f)
        return _read_meta(path, f.attrs)


def _open(path: Path):
    import h5py

    if not path.exists():
        raise FileNotFoundError(f"{path}: prediction file not found")
    try:
        check_regular_file(path, what="prediction file")  # h5py would block on a FIFO
    except InputFileError as e:
        raise StoreError(str(e)) from None
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise StoreError(f"{path}: not a readable HDF5 prediction file: {e}") from None


def _check_schema(path: Path, f) -> None:
    schema = f.attrs.get("schema")
    if schema is None:
        raise StoreError(f"{path}: missing metadata field 'schema' (not a redbench prediction file?)")
    if int(schema) != SCHEMA_VERSION:
        raise StoreError(f"{path}: prediction schema {int(schema)} is not supported (this reader: {SCHEMA_VERSION})")


def read_keys(path: str | os.PathLike) -> tuple[PredictionMeta, np.ndarray, np.ndarray]:
    """(meta, clip_ids (N,), frame_indices (N,)), checked, without the landmarks: for checking frame sets
    cheaply, then `read_landmarks`."""
    path = Path(path)
    with _open(path) as f:
        _check_schema(path, f)
        meta = _read_meta(path, f.attrs)
        for name in ("clip_ids", "frame_indices", "landmarks"):
            if name not in f:
                raise StoreError(f"{path}: missing dataset {name!r}")
        ids = f["clip_ids"].asstr()[()]
        idx = f["frame_indices"][()]
    ids = np.asarray(ids, dtype=str)
    if ids.ndim != 1:
        raise StoreError(f"{path}: clip_ids has shape {ids.shape}, expected (N,)")
    if not np.issubdtype(np.asarray(idx).dtype, np.integer):
        raise StoreError(f"{path}: frame_indices has dtype {idx.dtype}, expected integers")
    idx = np.asarray(idx, dtype=np.int64)
    _check_keys(str(path), ids, idx)
    return meta, ids, idx


def read_landmarks(path: str | os.PathLike, clip_ids: np.ndarray, frame_indices: np.ndarray,
                   out: np.ndarray | None = None) -> np.ndarray:
    """The checked landmarks (N, 68, 2) float64 of a file whose keys `read_keys` gave (they name bad rows).

    out: a float64 array to read into when it has the file's shape (a caller reading file after file reuses
    one array instead of touching fresh memory for each); else a new array.
    """
    path = Path(path)
    with _open(path) as f:
        _check_schema(path, f)
        if "landmarks" not in f:
            raise StoreError(f"{path}: missing dataset 'landmarks'")
        ds = f["landmarks"]
        if out is not None and out.shape == ds.shape and out.dtype == np.float64 and out.flags.c_contiguous:
            ds.read_direct(out)  # HDF5 converts any stored float type to float64, as asarray below
            lm = out
        else:
            lm = np.asarray(ds[()], dtype=np.float64)
    _check_landmarks(str(path), clip_ids, frame_indices, lm)
    return lm


def read_predictions(path: str | os.PathLike) -> Predictions:
    """Read and validate one prediction file."""
    meta, ids, idx = read_keys(path)
    return Predictions(meta=meta, clip_ids=ids, frame_indices=idx, landmarks=read_landmarks(path, ids, idx))


def refuse_overwrite(out: str | os.PathLike, method: str, inputs: Sequence[str | os.PathLike] = (),
                     force: bool = False) -> None:
    """Before writing method `method`'s store to `out`: refuse (StoreError) where `out` is an input of the
    command (a file in `inputs`, or inside a folder in `inputs`: the test shards, the source of an import, a
    model), a clip shard, a file that is not a prediction store, or the store of another method. `force`
    allows it. Only the store of the same method (a rerun) is replaced without asking.
    """
    out = Path(out)
    target = out.resolve()
    hint = "choose another --out, or pass --force to replace it"
    for p in inputs:
        p = Path(p).resolve()
        if target == p or (p.is_dir() and p in target.parents):
            if not force:
                raise StoreError(f"{out}: is {'inside ' if target != p else ''}an input of this command ({p}); "
                                 f"{hint}")
            return
    if not out.exists() and not out.is_symlink():
        return
    if out.is_dir():
        raise StoreError(f"{out}: is a folder, not a prediction file")
    problem = _not_a_store_of(out, method)
    if problem and not force:
        raise StoreError(f"{out}: {problem}; {hint}")


def _not_a_store_of(path: Path, method: str) -> str | None:
    """Why the existing file `path` is not a prediction store of `method` (None when it is one)."""
    import h5py

    if not path.is_file():
        return "exists and is not a regular file"
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
    except OSError:
        return "exists and is not a prediction store (not an HDF5 file)"
    if "split" in attrs and "crop_size" in attrs:
        return "is a clip shard (ground truth written by preprocess)"
    try:
        meta = read_meta(path)
    except (StoreError, OSError, ValueError):
        return "exists and is not a prediction store"
    if meta.method != method:
        return f"holds the predictions of method {meta.method!r}, not {method!r}"
    return None
