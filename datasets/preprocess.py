"""Raw dataset layout -> HDF5 clip shards + manifest, streaming one block of frames at a time.

Per frame: a square context crop around the face (the GT landmark box's longer side x `context_scale`,
centred on the box) resized to `crop_size`, the crop -> original affine, landmarks in both frames, the box
protocols (redbench.datasets.boxes), occlusion flags and pose from a synthetic sidecar where present, and
the PnP pose estimate from the GT landmarks for every frame. Peak memory holds one block of frames, never a
whole video. Output is deterministic: an interrupted run followed by a re-run writes identical shards.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Full
from typing import Any, Callable, Iterable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from redbench._io import read_json, sha256_file, staged_dir
from redbench.config import param
from redbench.datasets.boxes import BoxConfig, clip_rng, detector_boxes, gt_boxes, jitter_boxes
from redbench.datasets.detector import HogDetector
from redbench.datasets.geometry import apply_affine, box_to_affine, invert_affine, landmark_box, square_box
from redbench.datasets.pose import PnPPoseEstimator, yaw_error_stats
from redbench.datasets.raw import RawFrame, RawVideo
from redbench.datasets.shard_writer import ShardFormat, ShardSetWriter
from redbench.datasets.shards import MANIFEST_NAME, SCHEMA_VERSION, ClipData, ClipRecord

log = logging.getLogger(__name__)

SYNTHETIC_GENERATOR = "redbench.synthetic"
# Landmarks may leave the frame a little (a face at the edge); beyond this fraction of the frame's longer
# side outside it, a coordinate is an annotation error (a point at (-5000, -5000)), not a face.
LANDMARK_MARGIN = 0.25


# The crops of one block of frames held in memory by each process (the default: 32 x 128 x 128 x 3 = 1.5 MB).
MAX_BLOCK_BYTES = 2**30


@dataclass(frozen=True)
class PreprocessConfig:
    crop_size: int = param(128, min=8, max=1024)  # context crop side in px (the stored face: crop_size / context_scale px)
    context_scale: float = param(2.0, min=0, exclusive_min=True)  # context crop side = this x the longer side of the GT landmark box
    block_frames: int = param(32, min=1, max=4096)  # frames processed and written at a time (bounds peak memory)
    compression: str = param("none", choices=("none", "gzip", "lzf"))  # none | gzip (level 1); lzf is measured but not byte-deterministic (docs/shards.md)
    chunk_frames: int = param(8, min=1, max=4096)
    shard_mb: float = param(256.0, min=0, exclusive_min=True)  # rotate shards after this many MB of crops (whole clips only)
    pose_focal: float = param(1.0, min=0, exclusive_min=True)  # PnP camera focal length, x max(W, H) of the frame (1.0: a ~53 degree field of view)
    workers: int = param(2, min=1, max=64)  # processes sharing the per-frame work, the parent one of them (byte-identical output for any number): docs/speed.md
    boxes: BoxConfig = field(default_factory=BoxConfig)

    def __post_init__(self) -> None:
        block = self.block_frames * self.crop_size**2 * 3  # bytes of one block of crops, per process
        if block > MAX_BLOCK_BYTES:
            raise ValueError(f"block_frames x crop_size^2 x 3 = {block / 2**20:,.0f} MB of crops held at a time "
                             f"(per worker), more than {MAX_BLOCK_BYTES // 2**20} MB: lower block_frames")

    @property
    def face_px(self) -> float:
        """The stored face: the GT landmark box's longer side in the crop, px (methods warn when their input
        upsamples it by more than redbench.datasets.input_crop.MAX_UPSAMPLE; docs/real_data.md)."""
        return self.crop_size / self.context_scale

    def shard_format(self) -> ShardFormat:
        return ShardFormat(self.crop_size, self.compression, self.chunk_frames, self.shard_mb)


class PreprocessError(ValueError):
    """Raw input that cannot be preprocessed; the message names the video and frame."""


@dataclass
class _Stats:
    frames: int = 0
    detector_searched: int = 0  # frames of the splits in boxes.detector_splits
    detector_found: int = 0
    pose_true: list[np.ndarray] = field(default_factory=list)  # yaw per block where the source knows it
    pose_pnp: list[np.ndarray] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        yaw = yaw_error_stats(np.concatenate(self.pose_pnp) if self.pose_pnp else np.zeros(0),
                              np.concatenate(self.pose_true) if self.pose_true else np.zeros(0))
        return {"frames": self.frames,
                "detector_searched": self.detector_searched,
                "detector_found_rate": (self.detector_found / self.detector_searched
                                        if self.detector_searched else None),
                "pose_pnp_yaw_abs_error_deg": yaw}


def data_source_of(videos: list[RawVideo], raw_dir: Path) -> str:
    """"synthetic" when every video has a sidecar from the generator, "real" when none has; else an error."""
    synthetic = [v.sidecar is not None and v.sidecar.get("generator") == SYNTHETIC_GENERATOR for v in videos]
    if all(synthetic):
        return "synthetic"
    if not any(synthetic):
        return "real"
    raise PreprocessError(f"{raw_dir}: {sum(synthetic)} of {len(videos)} videos are synthetic: mixed raw folder")


def context_affine(landmarks: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """(2, 3) original -> context crop affine: the GT box squared, x context_scale, onto crop_size px."""
    return box_to_affine(square_box(landmark_box(landmarks), cfg.context_scale), cfg.crop_size)


def warp_context(image: np.ndarray, A: np.ndarray, size: int) -> np.ndarray:
    """Warp `image` through A (orig -> crop) into size x size, pre-shrinking by pyrDown while A shrinks more
    than 2x, so large faces are low-pass filtered before sampling (bilinear alone would alias)."""
    A = np.asarray(A, dtype=np.float64)
    while abs(np.linalg.det(A[:, :2])) < 0.25 and min(image.shape[:2]) >= 4:
        image = cv2.pyrDown(image)
        # pyrDown's output pixel i is the Gaussian-weighted mean around input pixel 2i: half = full / 2.
        A = A @ np.diag([2.0, 2.0, 1.0])
    return cv2.warpAffine(image, A, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def _sidecar_arrays(video: RawVideo, frames: list[RawFrame]) -> dict[str, np.ndarray]:
    t = len(frames)
    if video.sidecar is None:
        return {"occluded": np.zeros((t, 68), bool), "self_occluded": np.zeros((t, 68), bool),
                "occlusion_known": np.zeros(t, bool), "pose": np.full((t, 3), np.nan, np.float32)}
    entries = video.sidecar["frames"]
    try:
        rows = [entries[f.frame_index] for f in frames]
        occ = np.array([r["occluded"] for r in rows], dtype=bool).reshape(t, 68)
        self_occ = np.array([r["self_occluded"] for r in rows], dtype=bool).reshape(t, 68)
        pose = np.array([r["pose"] for r in rows], dtype=np.float32).reshape(t, 3)
    except (IndexError, KeyError, ValueError, TypeError) as e:
        raise PreprocessError(f"{video.name}: sidecar entry for frames {frames[0].frame_index}.."
                              f"{frames[-1].frame_index} is malformed: {e}") from None
    return {"occluded": occ, "self_occluded": self_occ, "occlusion_known": np.ones(t, bool), "pose": pose}


@dataclass
class _Measured:
    """One block's per-frame work (crops, PnP, the detector), done in any process; `ClipProcessor.assemble`
    adds the parts that run in clip order (jitter draws, the detector's fallback to the previous box)."""

    fields: dict[str, Any]  # ClipData fields but the jitter and detector boxes and detector_found
    gt: np.ndarray  # (T, 4) float64 gt boxes
    pose_pnp: np.ndarray  # (T, 3) float64, for the summary's yaw error (the shards store float32)
    detections: list[np.ndarray | None] | None  # None: the video's split is not in boxes.detector_splits


class ClipProcessor:
    """Turns the frames of one video into ClipData blocks; keeps the detector fallback across blocks."""

    def __init__(self, cfg: PreprocessConfig, detector: HogDetector | None, pose: PnPPoseEstimator):
        self.cfg, self.detector, self.pose = cfg, detector, pose

    def blocks(self, video: RawVideo, stats: _Stats, measured: Iterable[_Measured] | None = None
               ) -> Iterator[ClipData]:
        """The video's blocks; `measured`: its blocks' per-frame work done elsewhere (a worker), in order."""
        rng = clip_rng(self.cfg.boxes.seed, video.name)
        previous: np.ndarray | None = None
        if measured is None:
            measured = (self.measure(video, frames) for frames in self.frame_blocks(video))
        for m in measured:
            data, previous = self.assemble(video, m, rng, previous, stats)
            yield data

    def frame_blocks(self, video: RawVideo, owned: Callable[[int], bool] | None = None) -> Iterator[list[RawFrame]]:
        """The video's frames, each checked as it is decoded, in blocks of block_frames (block b holds frames
        b * block_frames ...); `owned`: only the blocks b with owned(b) (`RawVideo.frames(wanted)`)."""
        size = self.cfg.block_frames
        frames = video.frames() if owned is None else video.frames(lambda i: owned(i // size))
        block: list[RawFrame] = []
        for frame in frames:
            self._check(video, frame)
            if block and frame.frame_index // size != block[0].frame_index // size:
                yield block
                block = []
            block.append(frame)
        if block:
            yield block

    @staticmethod
    def _check(video: RawVideo, frame: RawFrame) -> None:
        where = f"{video.name} frame {frame.frame_index}"
        if frame.image.ndim != 3 or frame.image.shape[2] != 3 or frame.image.dtype != np.uint8:
            raise PreprocessError(f"{where}: expected an (H, W, 3) uint8 image, got {frame.image.shape} "
                                  f"{frame.image.dtype}")
        if frame.landmarks.shape != (68, 2) or not np.isfinite(frame.landmarks).all():
            raise PreprocessError(f"{where}: expected 68 finite landmarks, got {frame.landmarks.shape}")
        h, w = frame.image.shape[:2]
        m = LANDMARK_MARGIN * max(h, w)
        outside = ((frame.landmarks < -m) | (frame.landmarks > np.array([w, h]) + m)).any(axis=1)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            x, y = frame.landmarks[i]
            raise PreprocessError(f"{where}: landmark {i} at ({x:.1f}, {y:.1f}) is outside "
                                  f"the {w}x{h} image by more than {LANDMARK_MARGIN:g} x its longer side")
        lo, hi = landmark_box(frame.landmarks).reshape(2, 2)
        if (hi - lo).max() <= 1.0:
            raise PreprocessError(f"{where}: landmarks span {hi - lo} px: no face box")

    def measure(self, video: RawVideo, frames: list[RawFrame]) -> _Measured:
        cfg = self.cfg
        orig = np.stack([f.landmarks for f in frames])  # (T, 68, 2) float64
        to_crop = np.stack([context_affine(p, cfg) for p in orig])  # (T, 2, 3)
        crops = np.stack([warp_context(f.image, A, cfg.crop_size) for f, A in zip(frames, to_crop)])
        landmarks = apply_affine(orig, to_crop)  # (T, 68, 2)
        gt = gt_boxes(landmarks, cfg.boxes.gt_box_scale)
        pose_pnp = np.stack([self.pose(p, f.image.shape[1], f.image.shape[0]) for p, f in zip(orig, frames)])
        fields = dict(
            crops=crops, landmarks=landmarks.astype(np.float32), landmarks_orig=orig.astype(np.float32),
            crop_to_orig=invert_affine(to_crop).astype(np.float32), pose_pnp=pose_pnp.astype(np.float32),
            unreliable=np.array([f.unreliable for f in frames], dtype=bool),
            frame_index=np.array([f.frame_index for f in frames], dtype=np.int32),
            **_sidecar_arrays(video, frames))
        detect = self.detector is not None and video.split in cfg.boxes.detector_splits
        return _Measured(fields, gt, pose_pnp, [self.detector(c) for c in crops] if detect else None)

    def assemble(self, video: RawVideo, m: _Measured, rng: np.random.Generator, previous: np.ndarray | None,
                 stats: _Stats) -> tuple[ClipData, np.ndarray | None]:
        """The block's ClipData, given the clip's jitter stream and the last detector box of the block before."""
        if m.detections is None:  # a split the detector does not run on (boxes.detector_splits)
            detector, found = np.full_like(m.gt, np.nan), np.zeros(len(m.gt), dtype=bool)
        else:
            detector, found, previous = detector_boxes(m.detections, m.gt, previous)
        f = m.fields
        stats.frames += len(m.gt)
        stats.detector_searched += 0 if m.detections is None else len(m.gt)
        stats.detector_found += int(found.sum())
        if video.sidecar is not None:
            stats.pose_true.append(f["pose"][:, 0])
            stats.pose_pnp.append(m.pose_pnp[:, 0])
        boxes = {"gt": m.gt.astype(np.float32),
                 "gt_jitter": jitter_boxes(m.gt, rng, self.cfg.boxes).astype(np.float32),
                 "detector": detector.astype(np.float32)}
        return ClipData(boxes=boxes, detector_found=found, **f), previous


def preprocess_videos(videos: Iterable[RawVideo], dataset: str, out_dir: str | os.PathLike, cfg: PreprocessConfig,
                      raw_dir: str | os.PathLike = "", progress: bool = False) -> dict[str, Any]:
    """Write shards + manifest for `videos` under out_dir; returns the summary also stored in the manifest."""
    from redbench.datasets.mean_shape_3d import mean_shape_3d

    videos = list(videos)  # RawVideo records are light: frames decode lazily
    if not videos:
        raise PreprocessError(f"{raw_dir}: no videos found for dataset {dataset!r}")
    data_source = data_source_of(videos, Path(raw_dir))
    identities = sorted({v.identity for v in videos})
    ids = {name: i for i, name in enumerate(identities)}
    # dlib builds its detector in about 0.35 s: only when some video's split needs detector boxes
    needs_detector = any(v.split in cfg.boxes.detector_splits for v in videos)
    detector = HogDetector(cfg.boxes.detector_size, cfg.boxes.detector_upsample) if needs_detector else None
    processor = ClipProcessor(cfg, detector, PnPPoseEstimator(mean_shape_3d(), cfg.pose_focal))
    stats = _Stats()
    bar = tqdm(total=sum(v.n_frames for v in videos), unit="frame", desc=f"preprocess {dataset}",
               disable=not progress)
    # The worker count changes no output, so the manifest does not record it.
    recorded = {k: v for k, v in asdict(cfg).items() if k != "workers"}
    # Written whole in a staging folder and swapped in: a failed or killed run leaves the previous complete
    # shards or nothing, and files preprocess did not write (a user's train-777.h5) make it refuse.
    with staged_dir(out_dir, owned_by_preprocess(out_dir), "preprocess") as stage, \
            ShardSetWriter(stage, dataset, data_source, cfg.shard_format()) as writer, \
            _BlockPool(processor, videos, _usable_workers(cfg.workers)) as pool:
        for i, v in enumerate(videos):
            record = ClipRecord(v.name, ids[v.identity], v.identity, v.split, v.subset, v.n_frames)
            writer.write_clip(record, _counted(processor.blocks(v, stats, pool.measured(i)), bar))
        summary = {"data_source": data_source, **stats.summary()}
        writer.finish(identities, {"preprocess": {"config": recorded, "face_px": cfg.face_px, "summary": summary}})
    bar.close()
    return summary


def _usable_workers(workers: int) -> int:
    if workers > 1 and "fork" not in mp.get_all_start_methods():
        log.warning("preprocess: no 'fork' start method on this platform: one process")
        return 1
    return workers


class _BlockPool:
    """The per-frame work (`ClipProcessor.measure`) of block b of video i is share (i + b) % workers: the parent
    does share 0 itself and `workers - 1` forked processes the others; each reads only its own blocks (a video's
    other frames are decoded but not converted, and their .pts files are not parsed). The parent takes the
    blocks in order, so what it writes is what one process writes. Each process sends a video's blocks, then
    None; a queue holds at most `AHEAD` blocks, which bounds memory. workers == 1: no processes.
    """

    AHEAD = 4

    def __init__(self, processor: ClipProcessor, videos: list[RawVideo], workers: int):
        self.n, self.processor, self.videos = workers, processor, videos
        self._queues: list[Any] = []
        self._procs: list[Any] = []
        if workers > 1:
            ctx = mp.get_context("fork")  # RawVideo.frames is a closure: it is inherited, not pickled
            self._queues = [ctx.Queue(self.AHEAD) for _ in range(workers - 1)]
            self._procs = [ctx.Process(target=_measure_worker, args=(processor, videos, w, workers, q), daemon=True)
                           for w, q in enumerate(self._queues, start=1)]
            for proc in self._procs:
                proc.start()

    def measured(self, i: int) -> Iterator[_Measured] | None:
        """Video i's measured blocks in order (None without workers: the caller measures them itself)."""
        return self._take(i) if self._procs else None

    def _take(self, i: int) -> Iterator[_Measured]:
        video = self.videos[i]
        own = self.processor.frame_blocks(video, owned=lambda b: (i + b) % self.n == 0)  # share 0: the parent's
        b = 0
        while (m := self._next(i + b, video, own)) is not None:
            yield m
            b += 1
        for k in range(1, self.n):  # the other shares' ends of the video
            assert self._next(i + b + k, video, own) is None

    def _next(self, j: int, video: RawVideo, own: Iterator[list[RawFrame]]) -> _Measured | None:
        """The next block of share j % n of `video` (None at its end)."""
        w = j % self.n
        if w == 0:
            frames = next(own, None)
            return None if frames is None else self.processor.measure(video, frames)
        msg = self._queues[w - 1].get()
        if isinstance(msg, BaseException):
            raise msg
        return msg

    def __enter__(self) -> "_BlockPool":
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for q in self._queues:
            q.close()


def _measure_worker(processor: ClipProcessor, videos: list[RawVideo], w: int, n: int, queue: Any) -> None:
    """Share w of every video's blocks (block b of video i when (i + b) % n == w), into `queue`."""
    parent = os.getppid()
    try:
        for i, v in enumerate(videos):
            for frames in processor.frame_blocks(v, owned=lambda b, i=i: (i + b) % n == w):
                _put(queue, processor.measure(v, frames), parent)
            _put(queue, None, parent)
    except BaseException as e:  # reported to the parent when it reaches this worker's next block
        try:
            pickle.dumps(e)
        except Exception:
            e = PreprocessError(f"{type(e).__name__}: {e}")
        _put(queue, e, parent)


def _put(queue: Any, msg: Any, parent: int) -> None:
    """queue.put, but a worker whose parent is gone exits: a killed preprocess (SIGKILL runs no clean-up)
    would otherwise leave it waiting on a full queue for ever."""
    while True:
        try:
            queue.put(msg, timeout=1.0)
            return
        except Full:
            if os.getppid() != parent:
                os._exit(1)


def owned_by_preprocess(out_dir: str | os.PathLike) -> Callable[[str], bool]:
    """Which files of an existing shard folder preprocess can show it wrote: its manifest, when the manifest
    reads as one preprocess writes (redbench's schema and its `preprocess` record), and each shard that
    manifest lists whose bytes are still the ones it records (size and sha256). Another tool's manifest.json,
    and whatever it lists, is not ours: preprocess then refuses rather than replace or delete them."""
    out_dir = Path(out_dir)
    try:
        obj = read_json(out_dir / MANIFEST_NAME, ValueError)
        ours = (isinstance(obj, dict) and obj.get("schema_version") == SCHEMA_VERSION and "preprocess" in obj
                and isinstance(obj.get("shards"), list))
        entries = {str(s["path"]): (int(s["bytes"]), str(s["sha256"])) for s in obj["shards"]} if ours else {}
    except (OSError, ValueError, KeyError, TypeError):
        return lambda rel: False  # no manifest (then nothing is ours), or none preprocess wrote
    if not ours:
        return lambda rel: False

    checked: dict[tuple[str, int, int], bool] = {}  # staged_dir asks twice: hash each shard once

    def owned(rel: str) -> bool:
        if rel == MANIFEST_NAME:
            return True
        path = out_dir / rel
        if rel not in entries or path.is_symlink() or not path.is_file():
            return False
        st = path.stat()
        key = (rel, st.st_size, st.st_mtime_ns)
        if key not in checked:
            size, sha = entries[rel]
            checked[key] = st.st_size == size and sha256_file(path) == sha
        return checked[key]

    return owned


def _counted(blocks: Iterator[ClipData], bar: tqdm) -> Iterator[ClipData]:
    for b in blocks:
        bar.update(len(b))
        yield b


def preprocess(dataset: str, raw_dir: str | os.PathLike, out_dir: str | os.PathLike, cfg: PreprocessConfig,
               progress: bool = False) -> dict[str, Any]:
    """`redbench preprocess DATASET`: the raw layout under raw_dir -> shards under out_dir."""
    from redbench.datasets.raw import iter_raw_videos

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{raw_dir}: raw folder not found (run `redbench fetch {dataset}` first)")
    return preprocess_videos(iter_raw_videos(dataset, raw_dir), dataset, out_dir, cfg, raw_dir, progress)
