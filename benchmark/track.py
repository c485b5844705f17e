"""Any method on a video without annotations (`redbench track`): the face found by the detector, then tracked
by the method's own predictions or boxed by the detector on every frame.

The video is resampled once into "working" frames: the whole frame scaled by s = face_px / (the first face
box's longer side), never enlarged, padded to a square and anti-aliased as preprocessing makes the shards'
crops (redbench.datasets.preprocess.warp_context). The methods were trained on faces of face_px pixels
(preprocess crop_size / context_scale), and every frame shares one coordinate frame, so the working frames
are a clip of context crops with one crop transform: the method runs on them through the method protocol's
`predict_clip`, exactly as the predict driver runs it on a test clip (redbench.benchmark.predict), with the
same box adapters, tracking loop and temporal state. The working frames live in a temporary memory-mapped
file (W x H x s^2 x 3 bytes a frame), so a long video is not held in memory.

Boxes. The detector is dlib's HOG (redbench.datasets.boxes.HogDetector); its box is turned into the gt box
rule's box (the tight landmark box x gt_box_scale) by the measured geometry of dlib's boxes (DlibBoxModel,
inverted with width = height), so a method gets the kind of box it was trained with.
- "tracking" (the tracking protocol, redbench.methods.tracking): the first face's box, then each frame's box
  from the method's previous output. Every `check_every` frames the detector looks again; the track is lost
  where the tracked box is implausible (outside the frame, or its size more than 4x off the segment's first
  box) or where a detection overlaps it by less than `lost_iou`. From a lost frame on, the detector is run on
  every frame until it finds the face, and a new segment (fresh method state) starts there. Earlier frames
  are unaffected: a method's output at frame t depends only on frames <= t, so this is the online tracker
  that re-detects at the lost frame.
- "detector": the detector on every frame, a miss taking the previous frame's box (as preprocessing fills
  the shards' detector boxes), and the method run with those boxes (the predict driver's box protocols).
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from redbench.config import param
from redbench.datasets.boxes import scale_box
from redbench.datasets.detector import DlibBoxModel
from redbench.datasets.geometry import apply_affine, invert_affine
from redbench.datasets.video import VideoError, VideoSource
from redbench.methods.protocol import Method
from redbench.methods.tracking import tracking_box

log = logging.getLogger(__name__)

BOX_MODES = ("tracking", "detector")
# A tracked box is implausible when its side is more than this factor off the segment's first box.
MAX_SIZE_CHANGE = 4.0


@dataclass(frozen=True)
class TrackConfig:
    boxes: str = param("tracking", choices=BOX_MODES)  # tracking | detector (module docstring)
    face_px: float = param(64.0, min=8)  # the face is resampled to this (preprocess crop_size / context_scale)
    gt_box_scale: float = param(1.0, min=0, exclusive_min=True)  # preprocess.boxes.gt_box_scale
    check_every: int = param(10, min=0)  # tracking: the detector checks the track every this many frames (0: never)
    lost_iou: float = param(0.3, min=0, max=1)  # tracking: a detection overlapping the track less is a loss
    detector_upsample: int = param(1, min=0, max=3)  # dlib's pyramid upsampling (HOG's window is 80 px)
    search_px: int = param(640, min=80)  # the first search runs on frames shrunk to this longer side at most


@dataclass(frozen=True)
class Segment:
    start: int  # first frame (0-based)
    stop: int  # one past the last frame
    reason: str  # "first face" | "given box" | "redetected"


@dataclass(frozen=True)
class TrackResult:
    landmarks: np.ndarray  # (T, 68, 2) float64 original-frame coords, NaN where no face is tracked
    boxes: np.ndarray  # (T, 4) float64 the box the method got (original coords), NaN where none
    segments: tuple[Segment, ...]
    to_work: np.ndarray  # (2, 3) original -> working-frame affine
    work_size: int  # the working frames' side
    detector_found: dict[int, bool] = field(default_factory=dict)  # frames the detector ran on -> found a face
    seconds: float = 0.0  # the method's own time (predict_clip)

    @property
    def tracked(self) -> np.ndarray:
        """(T,) bool: frames with landmarks."""
        return np.isfinite(self.landmarks).all(axis=(1, 2))


def detection_to_box(det: np.ndarray, gt_box_scale: float = 1.0, model: DlibBoxModel = DlibBoxModel()) -> np.ndarray:
    """The gt box rule's box (4,) for a dlib detection (4,): DlibBoxModel.from_box inverted for a tight box of
    equal width and height a (detector side = box_side * a, centre moved by box_dy * a), x gt_box_scale."""
    det = np.asarray(det, dtype=np.float64)
    a = (det[2] - det[0]) / model.box_side
    cx, cy = (det[0] + det[2]) / 2, (det[1] + det[3]) / 2 - model.box_dy * a
    return scale_box(np.array([cx - a / 2, cy - a / 2, cx + a / 2, cy + a / 2]), gt_box_scale)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (4,)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def working_affine(box: np.ndarray, face_px: float) -> tuple[np.ndarray, float]:
    """(original -> working affine (2, 3), scale s): s = face_px / the box's longer side, at most 1."""
    side = float(np.max(np.asarray(box)[2:] - np.asarray(box)[:2]))
    s = min(1.0, face_px / side)
    # pixel centres: x_w = s (x + 0.5) - 0.5, as geometry.box_to_affine maps pixel edges
    return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5]]), s


class _Detector:
    """dlib's HOG on whole frames, returning gt-rule boxes; dlib is imported on first use."""

    def __init__(self, cfg: TrackConfig):
        self.cfg, self._hog = cfg, None

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        if self._hog is None:
            from redbench.datasets.detector import HogDetector

            self._hog = HogDetector(size=None, upsample=self.cfg.detector_upsample)
        det = self._hog(np.ascontiguousarray(image))
        return None if det is None else detection_to_box(det, self.cfg.gt_box_scale)


def find_first_face(source: VideoSource, cfg: TrackConfig, detect: _Detector,
                    progress: bool = False) -> tuple[int, np.ndarray]:
    """(frame, gt-rule box in original coords) of the first frame where the detector finds a face."""
    import cv2

    w, h = source.size
    shrink = min(1.0, cfg.search_px / max(w, h))
    with tqdm(total=source.n_frames, disable=not progress, desc="looking for a face", unit="frame") as bar:
        for t, image in enumerate(source.frames()):
            small = image if shrink == 1.0 else cv2.resize(image, (round(w * shrink), round(h * shrink)),
                                                           interpolation=cv2.INTER_AREA)
            box = detect(small)
            bar.update(1)
            if box is not None:
                # detector pixel d (centre convention) -> original (d + 0.5) / shrink - 0.5; edges likewise
                return t, (box + 0.5) / shrink - 0.5 if shrink != 1.0 else box
    raise VideoError(f"{source.path}: no face found in any of its {source.n_frames} frames (dlib's HOG detector, "
                     f"upsample {cfg.detector_upsample}); give the first face's box with --box x0 y0 x1 y1")


def read_working_frames(source: VideoSource, to_work: np.ndarray, size: int, out: np.ndarray,
                        progress: bool = False) -> None:
    """Resample every frame into `out` (T, size, size, 3) uint8 through `to_work` (preprocess's warp)."""
    from redbench.datasets.preprocess import warp_context

    with tqdm(total=source.n_frames, disable=not progress, desc="reading", unit="frame") as bar:
        for t, image in enumerate(source.frames()):
            out[t] = warp_context(image, to_work, size)
            bar.update(1)


def plausible(box: np.ndarray, first: np.ndarray, work_extent: np.ndarray) -> bool:
    """A tracked box (4,) is finite, centred inside the frame (working coords) and within MAX_SIZE_CHANGE x
    the size of the segment's first box."""
    if not np.isfinite(box).all():
        return False
    centre = (box[:2] + box[2:]) / 2
    side, side0 = float(np.max(box[2:] - box[:2])), float(np.max(first[2:] - first[:2]))
    return bool((centre >= -0.5).all() and (centre <= work_extent - 0.5).all()
                and side0 / MAX_SIZE_CHANGE <= side <= side0 * MAX_SIZE_CHANGE)


def track_video(method: Method, source: VideoSource, cfg: TrackConfig, first_box: np.ndarray | None = None,
                progress: bool = False, tmp_dir: str | None = None) -> TrackResult:
    """Run `method` on every frame of `source` (module docstring); `first_box` (4,) in original coords skips
    the first search (the face's box on frame 0)."""
    detect = _Detector(cfg)
    if first_box is None:
        f0, box0 = find_first_face(source, cfg, detect, progress)
        reason = "first face"
    else:
        f0, box0, reason = 0, np.asarray(first_box, dtype=np.float64), "given box"
    to_work, s = working_affine(box0, cfg.face_px)
    w, h = source.size
    size = max(1, math.ceil(max(w, h) * s))
    extent = np.array([w * s, h * s])
    with tempfile.TemporaryDirectory(prefix="redbench-track-", dir=tmp_dir) as tmp:
        frames = np.lib.format.open_memmap(Path(tmp) / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(source.n_frames, size, size, 3))
        read_working_frames(source, to_work, size, frames, progress)
        run = _Run(method, cfg, frames, detect, extent, progress)
        if reason == "first face":  # the first search ran on frames 0..f0 (shrunk originals)
            run.found.update({t: t == f0 for t in range(f0 + 1)})
        run.bar.update(f0)
        first = apply_affine(box0.reshape(2, 2), to_work).reshape(4)
        if cfg.boxes == "detector":
            run.detector_boxes(f0, first, reason)
        else:
            run.tracking(f0, first, reason)
        run.frames = frames = None  # unmap before the folder goes
    back = invert_affine(to_work)
    landmarks = apply_affine(run.points, back)  # NaN rows stay NaN
    boxes = apply_affine(run.boxes.reshape(-1, 2, 2), back).reshape(-1, 4)
    return TrackResult(landmarks, boxes, tuple(run.segments), to_work, size, run.found, run.seconds)


class _Run:
    """The state of one track_video call over the working frames (all coordinates working-frame ones)."""

    def __init__(self, method: Method, cfg: TrackConfig, frames: np.ndarray, detect: _Detector,
                 extent: np.ndarray, progress: bool):
        n = len(frames)
        self.method, self.cfg, self.frames, self.detect, self.extent = method, cfg, frames, detect, extent
        self.points = np.full((n, 68, 2), np.nan)
        self.boxes = np.full((n, 4), np.nan)
        self.segments: list[Segment] = []
        self.found: dict[int, bool] = {}
        self._det: dict[int, np.ndarray | None] = {}
        self.seconds = 0.0
        self.bar = tqdm(total=n, disable=not progress, desc=method.name, unit="frame")

    def detection(self, t: int) -> np.ndarray | None:
        if t not in self._det:
            self._det[t] = self.detect(self.frames[t])
            self.found[t] = self._det[t] is not None
        return self._det[t]

    def predict(self, start: int, boxes: np.ndarray, tracking: bool) -> np.ndarray:
        t0 = time.perf_counter()
        pred = self.method.predict_clip(self.frames[start:start + len(boxes)], boxes, tracking,
                                        gt_box_scale=self.cfg.gt_box_scale)
        self.seconds += time.perf_counter() - t0
        if pred.shape != (len(boxes), 68, 2):
            raise ValueError(f"{self.method.name}: predicted {pred.shape} for {len(boxes)} frames")
        return pred

    def tracking(self, start: int, box: np.ndarray, reason: str) -> None:
        n = len(self.frames)
        while start is not None:
            pred = self.predict(start, np.tile(box, (n - start, 1)), tracking=True)
            nxt = [tracking_box(p, self.cfg.gt_box_scale) for p in pred[:-1]]  # what the method's loop used
            boxes = np.concatenate([box[None], np.reshape(nxt, (-1, 4))])
            lost = self._first_loss(start, boxes)
            stop = n if lost is None else lost
            self.points[start:stop], self.boxes[start:stop] = pred[:stop - start], boxes[:stop - start]
            self.segments.append(Segment(start, stop, reason))
            self.bar.update(stop - start)
            start, box, reason = self._search(stop), None, "redetected"
            if start is not None:
                box = self._det[start]
        self.bar.close()

    def _first_loss(self, start: int, boxes: np.ndarray) -> int | None:
        every = self.cfg.check_every
        for k in range(1, len(boxes)):
            if not plausible(boxes[k], boxes[0], self.extent):
                return start + k
            if every and k % every == 0:
                det = self.detection(start + k)
                if det is not None and iou(det, boxes[k]) < self.cfg.lost_iou:
                    return start + k
        return None

    def _search(self, t: int) -> int | None:
        """The first frame >= t where the detector finds a face (None: none left)."""
        for u in range(t, len(self.frames)):
            if self.detection(u) is not None:
                self.bar.update(u - t)
                return u
        self.bar.update(len(self.frames) - t)
        return None

    def detector_boxes(self, start: int, first: np.ndarray, reason: str) -> None:
        n = len(self.frames)
        boxes = np.empty((n - start, 4))
        previous = first
        for k in range(n - start):  # a miss keeps the previous frame's box (preprocess's detector_boxes rule)
            det = first if k == 0 else self.detection(start + k)
            previous = boxes[k] = previous if det is None else det
            self.bar.update(1)
        self.points[start:] = self.predict(start, boxes, tracking=False)
        self.boxes[start:] = boxes
        self.segments.append(Segment(start, n, reason))
        self.bar.close()
