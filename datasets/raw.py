"""The records every raw dataset reader yields (docs/interfaces.md), and the file helpers they share.

A `RawVideo` is one video of one identity (a 300-W image is a video of one frame). Frames are decoded lazily:
`video.frames()` returns a fresh generator that holds one decoded frame at a time; `video.frames(wanted)`
yields only the frames i with wanted(i) (a worker's share): the others' images and .pts files are not read, but
a video's frames are all still decoded, in order (OpenCV's `grab()` decodes; only the colour conversion is
skipped).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from redbench._io import InputFileError, check_regular_file, read_json
from redbench.datasets.pts import PtsError, read_pts, to_zero_based
from redbench.landmarks import N_POINTS

log = logging.getLogger(__name__)

# Still-image formats OpenCV decodes that the 300-W mirrors use (afw/helen/ibug .jpg, lfpw .png) and friends.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

SIDECAR_SCHEMA = 1
# A frame is at most a few MB (300-VW's largest are 1280x720 PNGs); a file far beyond is no frame.
MAX_IMAGE_BYTES = 256 * 2**20


class RawDataError(ValueError):
    """A raw dataset file or folder that does not match its documented layout; the message names it.

    Every reader error is one of these (malformed .pts, unknown 300-VW ids, frame-count mismatches).
    """


@dataclass(frozen=True)
class RawFrame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) float64, 0-based
    frame_index: int  # 0-based position in the video (300-VW annot 000001.pts -> 0)
    unreliable: bool  # 300-VW extra/ lists; False elsewhere


@dataclass(frozen=True)
class RawVideo:
    dataset: str  # "300w" | "300vw" | "tf"
    name: str  # "300vw/114", "300w/helen/trainset/100032540_1", "tf/franck"
    identity: str  # source identity name (synthetic: the sidecar identity)
    split: str  # "train" | "test"
    subset: str  # 300vw: train|category1|category2|category3; 300w: train|common|challenging; tf: tf
    n_frames: int
    sidecar: dict | None  # the synthetic sidecar when present, else None
    frames: Callable[..., Iterator[RawFrame]]  # lazy: decodes one frame at a time; optional `wanted` predicate


def read_image_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (grey and 16-bit images are converted).

    A truncated JPEG or PNG is refused: libjpeg decodes the part it has and pads the rest with grey, with
    only a warning on stderr that names no file.
    """
    import cv2

    try:
        check_regular_file(path, MAX_IMAGE_BYTES, "image")
        data = Path(path).read_bytes()
    except InputFileError as e:
        raise RawDataError(str(e)) from None
    except OSError as e:
        raise RawDataError(f"{path}: not readable: {e.strerror}") from None
    if truncated_image(data):
        raise RawDataError(f"{path}: truncated image (the file ends before the image data does)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # always 3-channel 8-bit BGR
    if image is None:
        raise RawDataError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def truncated_image(data: bytes) -> bool:
    """True for a JPEG whose last scan has no end-of-image marker after it, or a PNG without its IEND chunk.

    In JPEG entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so FF D9 after
    the last start-of-scan (FF DA) is the end of the main image (an EXIF thumbnail's markers come earlier).
    """
    if data[:3] == b"\xff\xd8\xff":
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in data[-32:]
    return False


def read_landmarks(path: str | os.PathLike) -> np.ndarray:
    """A 68-point .pts file as (68, 2) float64 0-based pixel coordinates."""
    try:
        points = read_pts(path)
    except PtsError as e:  # readers raise one error type for every bad raw file
        raise RawDataError(str(e)) from None
    if points.shape != (N_POINTS, 2):
        raise RawDataError(f"{path}: expected {N_POINTS} points, found {len(points)}")
    return to_zero_based(points)


def load_sidecar(path: Path, n_frames: int) -> dict[str, Any] | None:
    """The synthetic generator's JSON sidecar at `path`, or None when there is none (real data)."""
    if not path.exists():
        return None
    try:
        data = read_json(path, RawDataError)
    except InputFileError as e:
        raise RawDataError(str(e)) from None
    if not isinstance(data, dict) or data.get("schema") != SIDECAR_SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise RawDataError(f"{path}: unknown sidecar schema {got!r} (this reader knows {SIDECAR_SCHEMA})")
    frames = data.get("frames")
    if not isinstance(frames, list) or len(frames) != n_frames:
        got = len(frames) if isinstance(frames, list) else frames
        raise RawDataError(f"{path}: sidecar lists {got} frames but the annotations have {n_frames}")
    if not isinstance(data.get("identity"), str):
        raise RawDataError(f"{path}: sidecar has no string 'identity'")
    return data


def list_image_files(folder: Path) -> dict[str, Path]:
    """Stem -> image path for the image files directly in `folder` (hidden files skipped)."""
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file():
            if p.stem in found:
                raise RawDataError(f"{folder}: two images for {p.stem!r}: {found[p.stem].name}, {p.name}")
            found[p.stem] = p
    return found


def iter_raw_videos(dataset: str, root: str | os.PathLike) -> Iterator[RawVideo]:
    """Every video of `dataset` in its raw layout under `root`, read by the reader the datasets table names."""
    from redbench.datasets.table import get_dataset

    return get_dataset(dataset).iter_videos(root)
