"""Predictions made elsewhere, turned into the prediction store so that compare scores them on the same frames.

Formats (`redbench import FORMAT SOURCE`; keys are the store's: clip id `<dataset>/<name>` and the 0-based
frame index within the clip; coordinates 0-based pixels of the original frame):

- `pts`: a folder in the 300-VW layout, `NNN/annot/000001.pts ...`: .pts k is frame k-1 of clip `300vw/NNN`,
  its 1-based coordinates converted on read (redbench.datasets.pts). Frames may be missing.
- `csv`: a header `clip_id,frame_index,x0,y0,...,x67,y67`, then one row per frame: the store's keys (a clip
  id without the `<dataset>/` prefix gets it) and 0-based coordinates.
- `fhr`: FHR's released 300-VW results (Tai et al. AAAI 2019, tyshiwo/FHR_alignment testing_code/results/
  Scenario{1,2,3}/preds_300VWtest_float_68pts_<video>_300VW_128.mat): MATLAB 5 files, one per test video,
  each an array `x` (n_frames, 68, 2), one row per annotated frame in order, in the coordinates of a square
  crop around the GT landmark box x 1.3, `units` (256) across. A row maps back exactly as their
  testing_code/test_300VW.m does (read from the repository): in the .pts files' own 1-based coordinates,
  x * (crop pixels / 256) + the crop's start, where the crop of side L = 1.3 x max(width, height) of the
  GT landmark box, centred on it, has floor(L) + 1 pixels (MATLAB's a:a+L); we then subtract 1
  (`fhr_to_image`).

Frames are matched to the test shards by key: keys the shards do not have are refused (or, with intersect,
dropped and counted); test frames the source lacks are counted, and compare then needs --intersect.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from redbench._io import check_regular_file
from redbench.benchmark.ground_truth import GroundTruth
from redbench.benchmark.store import MAX_FRAME_INDEX
from redbench.landmarks import N_POINTS

log = logging.getLogger(__name__)

FORMATS = ("pts", "csv", "fhr")
FHR_FILE = re.compile(r"^preds_.*_68pts_(\d{3})_.*\.mat$")
_PTS_NAME = re.compile(r"^(\d+)\.pts$", re.IGNORECASE)
_VIDEO_ID = re.compile(r"^\d{3}$")
# Bounds checked before a file is read: FHR's largest video (about 3,000 frames x 68 x 2 doubles) is 3.3 MB;
# a CSV row is about 1.3 KB, so 1 GB is some 800,000 frames (300-VW has 218,597 annotated frames).
MAX_MAT_BYTES = 256 * 2**20
MAX_CSV_BYTES = 2**30
_MAX_CSV_FIELD = 256  # characters: a number, or a clip id


class PredictionImportError(ValueError):
    """A source file that cannot be imported; the message names the file (and line, frame or key)."""


@dataclass(frozen=True)
class Imported:
    clip_ids: np.ndarray  # (N,) str
    frame_indices: np.ndarray  # (N,) int64
    landmarks: np.ndarray  # (N, 68, 2) float64, 0-based original-image coordinates
    files: tuple[Path, ...]  # every file read, for the provenance hash
    conversion: dict[str, Any] = field(default_factory=dict)

    def take(self, rows: np.ndarray) -> "Imported":
        return Imported(self.clip_ids[rows], self.frame_indices[rows], self.landmarks[rows], self.files,
                        self.conversion)


def _stack(clips: list[str], frames: list[int], points: list[np.ndarray], files: list[Path],
           conversion: dict[str, Any]) -> Imported:
    return Imported(np.asarray(clips, dtype=str), np.asarray(frames, dtype=np.int64),
                    np.asarray(points, dtype=np.float64).reshape(-1, N_POINTS, 2), tuple(files), conversion)


def read_pts_folder(source: Path, dataset: str) -> Imported:
    """`NNN/annot/%06d.pts` under source (300-VW layout) -> clip `<dataset>/NNN`, frame = number - 1."""
    from redbench.datasets.pts import PtsError, read_pts, to_zero_based

    if not source.is_dir():
        raise PredictionImportError(f"{source}: pts import needs a folder of NNN/annot/000001.pts files")
    clips, frames, points, files = [], [], [], []
    folders = sorted(p for p in source.iterdir() if p.is_dir())
    for p in folders:
        if p.name.isdigit() and not _VIDEO_ID.match(p.name):  # e.g. 0114: a video id, misspelt
            raise PredictionImportError(f"{p}: a video folder is named with 3 digits (300-VW's 001..562), "
                                        f"not {len(p.name)}")
        if not _VIDEO_ID.match(p.name):
            log.warning("%s: not a 300-VW video folder (NNN/annot/000001.pts): skipped", p)
    for video in (p for p in folders if _VIDEO_ID.match(p.name)):
        annot = video / "annot"
        if not annot.is_dir():
            raise PredictionImportError(f"{video}: no annot/ folder (300-VW layout: NNN/annot/000001.pts)")
        for path in sorted(annot.iterdir()):
            m = _PTS_NAME.match(path.name)
            if not m:
                continue
            if not 1 <= int(m.group(1)) <= MAX_FRAME_INDEX + 1:
                raise PredictionImportError(f"{path}: .pts files are numbered from 000001 to "
                                            f"{MAX_FRAME_INDEX + 1} (frame k+1 of the video)")
            try:
                p = read_pts(path)
            except PtsError as e:
                raise PredictionImportError(str(e)) from None
            if p.shape != (N_POINTS, 2):
                raise PredictionImportError(f"{path}: expected {N_POINTS} points, found {len(p)}")
            clips.append(f"{dataset}/{video.name}")
            frames.append(int(m.group(1)) - 1)
            points.append(to_zero_based(p))
            files.append(path)
    if not files:
        raise PredictionImportError(f"{source}: no NNN/annot/*.pts files found")
    return _stack(clips, frames, points, files, {"coordinates": ".pts 1-based, minus 1"})


def read_csv_file(source: Path, dataset: str) -> Imported:
    """One row per frame: clip_id, frame_index, x0, y0, ..., x67, y67 (0-based coordinates)."""
    want = ["clip_id", "frame_index"] + [f"{a}{i}" for i in range(N_POINTS) for a in "xy"]
    if source.is_dir():
        raise PredictionImportError(f"{source}: csv import needs a file")
    check_regular_file(source, MAX_CSV_BYTES, "CSV file")
    clips, frames, points = [], [], []
    try:
        with source.open(newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
            _read_csv_rows(csv.reader(f), source, dataset, want, clips, frames, points)
    except UnicodeDecodeError as e:
        raise PredictionImportError(f"{source}: not UTF-8 text (byte {e.start}: {e.reason}); save the CSV as "
                                    "UTF-8") from None
    except csv.Error as e:
        raise PredictionImportError(f"{source}: not a readable CSV file: {e}") from None
    if not clips:
        raise PredictionImportError(f"{source}: no rows after the header")
    return _stack(clips, frames, points, [source], {"coordinates": "0-based, as written"})


def _read_csv_rows(reader, source: Path, dataset: str, want: list[str], clips: list, frames: list,
                   points: list) -> None:
    """The rows of an import CSV into clips, frames, points; errors name the file and line."""
    header = [h.strip() for h in next(reader, [])]
    if header != want:
        first = next((j for j, (h, w) in enumerate(zip(header, want)) if h != w), min(len(header), len(want)))
        what = f"column {first + 1} should be {want[first]!r}" if first < len(want) else "too many columns"
        raise PredictionImportError(f"{source}:1: header must be clip_id,frame_index,x0,y0,...,x67,y67 "
                                    f"({len(want)} columns), got {len(header)} column(s): {what}")
    for row in reader:
        lineno = reader.line_num
        if not row:
            continue
        if len(row) != len(want):
            raise PredictionImportError(f"{source}:{lineno}: {len(row)} columns, expected {len(want)}")
        long = next((j for j, v in enumerate(row) if len(v) > _MAX_CSV_FIELD), None)
        if long is not None:
            raise PredictionImportError(f"{source}:{lineno}: column {long + 1} ({want[long]}) has "
                                        f"{len(row[long])} characters, more than {_MAX_CSV_FIELD}")
        try:
            frame = int(row[1])
            xy = np.array([float(v) for v in row[2:]]).reshape(N_POINTS, 2)
        except ValueError:
            bad = next(j for j, v in enumerate(row[1:], start=1) if not _is_number(v, integer=j == 1))
            kind = "an integer" if bad == 1 else "a number"
            raise PredictionImportError(f"{source}:{lineno}: column {bad + 1} ({want[bad]}) is not "
                                        f"{kind}") from None
        if not 0 <= frame <= MAX_FRAME_INDEX:
            raise PredictionImportError(f"{source}:{lineno}: frame_index {frame} outside 0..{MAX_FRAME_INDEX}")
        if not np.isfinite(xy).all():
            raise PredictionImportError(f"{source}:{lineno}: NaN or inf coordinate")
        clip = row[0].strip()
        clips.append(clip if clip.startswith(f"{dataset}/") else f"{dataset}/{clip}")
        frames.append(frame)
        points.append(xy)


def _is_number(text: str, integer: bool) -> bool:
    try:
        int(text) if integer else float(text)
    except ValueError:
        return False
    return True


def _load_mat_x(path: Path) -> np.ndarray:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    check_regular_file(path, MAX_MAT_BYTES)
    try:
        data = loadmat(path)
    # v7.3 (HDF5) files raise NotImplementedError, a truncated or empty one MatReadError
    except (ValueError, NotImplementedError, OSError, MatReadError, TypeError) as e:
        raise PredictionImportError(f"{path}: not a readable MATLAB 5 file: {e}") from None
    if "x" not in data:
        keys = sorted(k for k in data if not k.startswith("__"))
        raise PredictionImportError(f"{path}: no array 'x' (found {keys})")
    x = np.asarray(data["x"])
    if np.iscomplexobj(x):
        raise PredictionImportError(f"{path}: 'x' holds complex numbers; FHR's coordinates are real")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        kind = {"V": "a struct", "O": "a cell array", "U": "text", "S": "text", "b": "logical"}.get(x.dtype.kind,
                                                                                                 x.dtype.kind)
        raise PredictionImportError(f"{path}: 'x' is {kind}, not a numeric array (n_frames, {N_POINTS}, 2)")
    x = x.astype(np.float64)
    if x.ndim != 3 or x.shape[1:] != (N_POINTS, 2):
        raise PredictionImportError(f"{path}: 'x' has shape {x.shape}, expected (n_frames, {N_POINTS}, 2)")
    return x


def fhr_to_image(x: np.ndarray, gt: np.ndarray, box_scale: float = 1.3, units: float = 256.0) -> np.ndarray:
    """FHR crop coordinates x (T, 68, 2) -> 0-based image coordinates, given the GT (T, 68, 2) in 0-based.

    As FHR's testing_code/test_300VW.m maps them, in the .pts files' 1-based coordinates: L = box_scale x
    max(w, h) of the GT landmark box, start = box centre - L / 2; the crop im_(start:start+L, ...) (from 1
    where start < 1: the image is padded) has floor(L) + 1 pixels a side, as MATLAB's a:a+L has; the script
    resizes it to `units` (256) and maps back with point = x * (floor(L) + 1) / units + start (start itself,
    also where it is below 1). Then minus 1 for the project's 0-based pixels.
    """
    g1 = np.asarray(gt, dtype=np.float64) + 1.0  # (T, 68, 2) in .pts coordinates
    lo, hi = g1.min(axis=1), g1.max(axis=1)  # (T, 2)
    length = box_scale * (hi - lo).max(axis=1)  # (T,) the script's length_
    start = (lo + hi) / 2.0 - length[:, None] / 2.0  # (T, 2) start_x, start_y
    side = _colon_count(length)  # (T,) wid_crop = hei_crop
    return start[:, None, :] + np.asarray(x, dtype=np.float64) * (side / units)[:, None, None] - 1.0


def _colon_count(length: np.ndarray) -> np.ndarray:
    """How many elements MATLAB's a:a+length has: floor(length) + 1, where a length within rounding of an
    integer counts as that integer (MATLAB's colon allows for the rounding of a + length - a)."""
    near = np.round(length)
    whole = np.where(np.abs(length - near) <= 1e-9 * np.maximum(1.0, np.abs(length)), near, np.floor(length))
    return whole + 1.0


def read_fhr(source: Path, gt: GroundTruth, box_scale: float = 1.3, units: float = 256.0) -> Imported:
    """FHR's per-video .mat files under source (searched recursively) or one such file."""
    paths = [source] if source.is_file() else sorted(source.rglob("*.mat")) if source.is_dir() else []
    if not paths:
        raise PredictionImportError(f"{source}: no .mat files "
                                    "(FHR's preds_300VWtest_float_68pts_<video>_300VW_128.mat)")
    clips, frames, points, seen = [], [], [], {}
    for path in paths:
        m = FHR_FILE.match(path.name)
        if not m:
            raise PredictionImportError(f"{path}: not an FHR result file name "
                                        "(preds_..._68pts_<3-digit video>_....mat)")
        clip = f"{gt.dataset}/{m.group(1)}"
        if clip in seen:
            raise PredictionImportError(f"{path}: video {m.group(1)} again (also in {seen[clip]})")
        seen[clip] = path
        x = _load_mat_x(path)
        rows = np.flatnonzero(gt.clip_ids == clip)  # the table is sorted: frames in order
        if len(rows) == 0:
            raise PredictionImportError(f"{path}: video {clip} is not in the {gt.dataset} test shards")
        if len(rows) != len(x) or not np.array_equal(gt.frame_indices[rows], np.arange(len(x))):
            raise PredictionImportError(
                f"{path}: {len(x)} rows, but the test shards hold frames {int(gt.frame_indices[rows].min())}.."
                f"{int(gt.frame_indices[rows].max())} ({len(rows)} frames) of {clip}; FHR's rows are every "
                "annotated frame in order")
        clips += [clip] * len(x)
        frames += list(range(len(x)))
        points += list(fhr_to_image(x, gt.landmarks[rows], box_scale, units))
    conversion = {"crop": f"square, L = {box_scale:g} x max(w, h) of the GT landmark box, centred on it "
                          "(FHR's test_300VW.m)",
                  "units": units, "box_scale": box_scale,
                  "mapping": "start + x * (floor(L) + 1) / units in 1-based .pts coordinates (the crop "
                             "im_(start:start+L) has floor(L) + 1 pixels), minus 1"}
    return _stack(clips, frames, points, paths, conversion)


def gt_rows(gt: GroundTruth, clip_ids: np.ndarray, frame_indices: np.ndarray) -> np.ndarray:
    """The GT row of each key (K,), -1 where the test shards do not have it."""
    index = {(c, int(f)): i for i, (c, f) in enumerate(zip(gt.clip_ids.tolist(), gt.frame_indices.tolist()))}
    return np.array([index.get((c, int(f)), -1) for c, f in zip(clip_ids.tolist(), frame_indices.tolist())],
                    dtype=np.int64)


def match_ground_truth(imp: Imported, gt: GroundTruth, intersect: bool, where: Path) -> tuple[Imported, dict[str, Any]]:
    """Keep the imported frames the test shards have; refuse unknown keys unless intersect (then drop them)."""
    rows = gt_rows(gt, imp.clip_ids, imp.frame_indices)
    unknown = np.flatnonzero(rows < 0)
    if len(unknown) and not intersect:
        ex = ", ".join(f"{imp.clip_ids[i]}#{int(imp.frame_indices[i])}" for i in unknown[:3])
        raise PredictionImportError(f"{where}: {len(unknown)} frame(s) not in the {gt.dataset} test shards "
                                    f"(e.g. {ex}); --intersect drops them")
    kept = imp.take(np.flatnonzero(rows >= 0))
    covered = len(np.unique(rows[rows >= 0]))
    report = {"source_frames": len(imp.clip_ids), "dropped_unknown_frames": int(len(unknown)),
              "test_frames": len(gt), "imported_frames": len(kept.clip_ids),
              "test_frames_without_prediction": len(gt) - covered}
    if len(kept.clip_ids) == 0:
        raise PredictionImportError(f"{where}: none of its frames is in the {gt.dataset} test shards")
    return kept, report


def source_sha256(files: tuple[Path, ...], root: Path) -> str:
    """One hash over the files read: their paths relative to the source and their bytes, in sorted order."""
    h = hashlib.sha256()
    base = root if root.is_dir() else root.parent
    for path in sorted(files):
        h.update(str(path.relative_to(base)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def import_predictions(fmt: str, source: Path, manifest_dir: Path, method: str, out: Path, box_protocol: str,
                       intersect: bool = False, box_scale: float = 1.3, units: float = 256.0,
                       force: bool = False) -> dict[str, Any]:
    """Read `source` in format `fmt`, match it to the test shards of manifest_dir, write the store file `out`
    and its provenance `<out stem>.import.json`; returns that provenance. Nothing is written on error.

    `out` may not be the source or inside it, in the test shards' folder, or an existing file that is not
    `method`'s prediction store (another method's store, a shard, any other file) unless `force`."""
    from redbench import __version__
    from redbench._io import write_json_atomic
    from redbench.benchmark.ground_truth import load_ground_truth
    from redbench.benchmark.store import PredictionMeta, refuse_overwrite, timing_path, write_predictions

    if fmt not in FORMATS:
        raise PredictionImportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source}: import source not found")
    out = Path(out)
    sidecar = out.with_name(f"{out.stem}.import.json")
    refuse_overwrite(out, method, [source, manifest_dir], force)
    gt = load_ground_truth(manifest_dir)
    if fmt == "pts":
        imp = read_pts_folder(source, gt.dataset)
    elif fmt == "csv":
        imp = read_csv_file(source, gt.dataset)
    else:
        imp = read_fhr(source, gt, box_scale, units)
    imp, report = match_ground_truth(imp, gt, intersect, source)
    digest = source_sha256(imp.files, source)
    meta = PredictionMeta(method=method, method_version=f"imported {fmt}", config_hash=digest[:16],
                          train_data_hash="unknown (imported)", box_protocol=box_protocol, dataset=gt.dataset,
                          data_source=gt.data_source, test_manifest_hash=gt.manifest_sha256, seconds_per_frame=None,
                          written_by="redbench import")
    provenance = {
        "format": fmt, "source": str(source.resolve()), "source_files": len(imp.files), "source_sha256": digest,
        "box_protocol": box_protocol, "box_protocol_note": "as stated at import: the method used its own input",
        "conversion": imp.conversion, "coverage": report, "dataset": gt.dataset, "data_source": gt.data_source,
        "test_manifest_sha256": gt.manifest_sha256, "redbench_version": __version__,
        "imported_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    write_predictions(out, meta, imp.clip_ids, imp.frame_indices, imp.landmarks)
    timing_path(out).unlink(missing_ok=True)  # an earlier run's timing is not this method's
    write_json_atomic(sidecar, provenance)
    log.info("imported %d frames of %s (%s) from %s to %s", report["imported_frames"], method, fmt, source, out)
    return provenance
