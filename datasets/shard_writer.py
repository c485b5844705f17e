"""Write HDF5 clip shards and their manifest, streaming: a clip arrives in blocks of frames.

Outputs are deterministic (fixed HDF5 settings, track_times=False, no timestamps), so an interrupted run
followed by a re-run produces the same bytes as an uninterrupted run. Each shard is written to a temporary
file and renamed into place when complete; the manifest is written last.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from redbench._io import atomic_path, discard_h5, named_os_error, sha256_file, write_json_atomic
from redbench.datasets.shards import (
    CLIP_FIELDS, FRAME_FIELDS, MANIFEST_NAME, SCHEMA_VERSION, ClipData, ClipRecord, ShardEntry, manifest_dict,
)

log = logging.getLogger(__name__)

COMPRESSIONS = ("none", "lzf", "gzip")
# Free space a shard's close needs at most: the chunks still in HDF5's caches (h5py's default chunk cache is
# 1 MiB per dataset, and the crops' is the only one that fills), the clip table and metadata, with room to spare.
CLOSE_MARGIN_BYTES = 16 * 2**20


@dataclass(frozen=True)
class ShardFormat:
    crop_size: int = 128
    compression: str = "none"  # none | lzf | gzip (level 1); chosen by measurement, docs/shards.md
    chunk_frames: int = 8  # crops chunk = this many consecutive frames
    shard_mb: float = 256.0  # start a new shard once the current one holds this many MB of crops

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {self.compression!r}")
        if self.crop_size < 8 or self.chunk_frames < 1 or self.shard_mb <= 0:
            raise ValueError(f"bad shard format {self}")


def _shape(tail: tuple[Any, ...], crop_size: int) -> tuple[int, ...]:
    return tuple(crop_size if d == "S" else d for d in tail)


def _filters(compression: str) -> dict[str, Any]:
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 1}
    return {"compression": "lzf"} if compression == "lzf" else {}


def _create_file(path: Path) -> Any:
    """An HDF5 file whose objects store no modification times (h5py's File() cannot switch them off for
    groups), with the earliest file format: identical input gives identical bytes."""
    import h5py

    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    return h5py.File(fid)


def _create_group(parent: Any, name: str) -> Any:
    import h5py

    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def _file_size_limit() -> int | None:
    """The process's largest writable file size (RLIMIT_FSIZE) in bytes; None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


class _OpenShard:
    """One shard being written to a temporary file (renamed into place by `finish`)."""

    def __init__(self, final: Path, split: str, dataset: str, data_source: str, fmt: ShardFormat):
        self.final, self.fmt = final, fmt
        self._atomic = atomic_path(final, suffix=".h5")
        self.tmp = self._atomic.__enter__()
        self.f = _create_file(self.tmp)
        _create_group(self.f, "boxes")
        self.f.attrs.update({"schema_version": SCHEMA_VERSION, "dataset": dataset, "data_source": data_source,
                             "split": split, "crop_size": fmt.crop_size, "n_points": 68})
        self.arrays = {}
        for name, (dtype, tail) in FRAME_FIELDS.items():
            shape = _shape(tail, fmt.crop_size)
            # Crops: chunks of chunk_frames consecutive frames. Small per-frame arrays: 64-frame chunks.
            rows = fmt.chunk_frames if name == "crops" else 64
            self.arrays[name] = self.f.create_dataset(
                name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(rows, *shape),
                track_times=False, **_filters(fmt.compression))
        self.clips: list[ClipRecord] = []
        self.offsets: list[int] = []
        self.n = 0

    @property
    def crop_mb(self) -> float:
        return self.n * self.fmt.crop_size ** 2 * 3 / 2**20

    def append(self, block: ClipData) -> None:
        t = len(block)
        try:
            for name, ds in self.arrays.items():
                ds.resize(self.n + t, axis=0)
                ds[self.n:self.n + t] = block.field(name)
        except OSError as e:  # a full disk: name the shard, not HDF5's temporary file
            raise named_os_error(e, self.final) from None
        self.n += t

    def finish(self) -> ShardEntry:
        """Write the clip table, close and rename the shard into place; on any error, discard it."""
        try:
            self._close()
        except BaseException as e:
            self.abort()
            if isinstance(e, (OSError, RuntimeError)):  # a full disk: name the shard, not HDF5's temporary file
                raise named_os_error(e, self.final) from None
            raise
        self._atomic.__exit__(None, None, None)  # rename into place
        return ShardEntry(self.final.name, self.clips[0].split, len(self.clips), self.n,
                          self.final.stat().st_size, sha256_file(self.final))

    def _close(self) -> None:
        self._refuse_unless_room()
        self.f.attrs["n_frames"] = self.n
        g = _create_group(self.f, "clips")
        text = {"clip_id": [c.clip_id for c in self.clips], "identity_name": [c.identity_name for c in self.clips],
                "split": [c.split for c in self.clips], "subset": [c.subset for c in self.clips]}
        numbers = {"identity": np.array([c.identity for c in self.clips], dtype=np.int32),
                   "offset": np.array(self.offsets, dtype=np.int64),
                   "n_frames": np.array([c.n_frames for c in self.clips], dtype=np.int32)}
        assert set(text) | set(numbers) == set(CLIP_FIELDS)
        for k, values in text.items():
            # Fixed-length UTF-8 bytes: plain arrays, no variable-length heap objects in the file.
            encoded = [v.encode("utf-8") for v in values]
            width = max(1, max(len(e) for e in encoded))
            g.create_dataset(k, data=np.array(encoded, dtype=f"S{width}"), track_times=False)
        for k, values in numbers.items():
            g.create_dataset(k, data=values, track_times=False)
        self.f.flush()  # the last writes: where a full disk fails them, with the file still open
        self.f.close()

    def _refuse_unless_room(self) -> None:
        """HDF5 failing for want of space while it makes the clip table's objects leaves state that crashes the
        process later (redbench._io.discard_h5): refuse first (ENOSPC, or EFBIG past the process's file-size
        limit) when the file cannot grow by the chunks still in HDF5's caches and the table. (A flush here
        would avoid the guess, but changes the shard's bytes.) A disk quota is not seen."""
        need = CLOSE_MARGIN_BYTES + 256 * len(self.clips)
        if shutil.disk_usage(self.tmp.parent).free < need:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.final))
        limit = _file_size_limit()
        if limit is not None and self.tmp.stat().st_size + need > limit:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(self.final))

    def abort(self) -> None:
        try:
            discard_h5(self.f, self.tmp)
        finally:
            exc = RuntimeError("aborted")
            try:
                self._atomic.__exit__(RuntimeError, exc, None)
            except RuntimeError:
                pass


def _listed_shards(manifest: Path) -> set[str]:
    try:
        return {str(s["path"]) for s in json.loads(manifest.read_text(encoding="utf-8"))["shards"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


class ShardSetWriter:
    """Writes `<split>-NNN.h5` shards (one open shard per split) and then `manifest.json`.

    Use as a context manager: on an exception every open shard's temporary file is removed and no manifest
    is written; shards finished earlier stay (they are complete files, rewritten identically on re-run).
    """

    def __init__(self, out_dir: str | os.PathLike, dataset: str, data_source: str, fmt: ShardFormat):
        self.out_dir, self.dataset, self.data_source, self.fmt = Path(out_dir), dataset, data_source, fmt
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # Shards of an earlier run may be replaced; files its manifest does not list are not ours to remove.
        self._previous = _listed_shards(self.out_dir / MANIFEST_NAME)
        # A manifest from an earlier run must not describe a half-rewritten folder.
        (self.out_dir / MANIFEST_NAME).unlink(missing_ok=True)
        # Temporary shards of a run that was killed (no cleanup ran) are never complete: remove them.
        for stale in self.out_dir.glob(".*-[0-9][0-9][0-9].h5.*.tmp"):
            stale.unlink()
        self._open: dict[str, _OpenShard] = {}
        self._count: dict[str, int] = {}
        self.entries: list[ShardEntry] = []

    def write_clip(self, record: ClipRecord, blocks: Iterable[ClipData]) -> None:
        """Append one clip, given as blocks of consecutive frames (n_frames in `record` must match)."""
        shard = self._open.get(record.split)
        if shard is None:
            k = self._count.get(record.split, 0)
            self._count[record.split] = k + 1
            shard = self._open[record.split] = _OpenShard(
                self.out_dir / f"{record.split}-{k:03d}.h5", record.split, self.dataset, self.data_source, self.fmt)
        start = shard.n
        for block in blocks:
            block.validate(self.fmt.crop_size)
            shard.append(block)
        if shard.n - start != record.n_frames:
            raise ValueError(f"clip {record.clip_id!r}: record says {record.n_frames} frames, got {shard.n - start}")
        shard.clips.append(record)
        shard.offsets.append(start)
        if shard.crop_mb >= self.fmt.shard_mb:
            self.entries.append(self._open.pop(record.split).finish())

    def finish(self, identities: Sequence[str], info: dict[str, Any]) -> list[ShardEntry]:
        """Close open shards, remove stale shards of earlier runs, write the manifest."""
        for split in sorted(self._open):
            self.entries.append(self._open.pop(split).finish())
        entries = sorted(self.entries, key=lambda e: (e.split != "train", e.path))
        keep = {e.path for e in entries}
        for name in sorted(self._previous - keep):
            (self.out_dir / name).unlink(missing_ok=True)
        counts: dict[str, dict[str, int]] = {}
        for e in entries:
            c = counts.setdefault(e.split, {"shards": 0, "clips": 0, "frames": 0})
            c["shards"] += 1
            c["clips"] += e.n_clips
            c["frames"] += e.n_frames
        obj = manifest_dict(self.dataset, self.data_source, self.fmt.crop_size, identities, entries,
                            {"counts": counts, **info})
        write_json_atomic(self.out_dir / MANIFEST_NAME, obj)
        return entries

    def __enter__(self) -> "ShardSetWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            for shard in self._open.values():
                shard.abort()
            self._open.clear()
