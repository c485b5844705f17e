"""Frames of a video without annotations: a video file OpenCV decodes (mp4, avi, mov, ...) or a folder of
frame images (png, jpg, ... in natural name order: 2.png before 10.png).

`open_video(path)` checks the source before anything is computed from it: a missing path, a file OpenCV
cannot open, a video or folder with no decodable frame, and a folder whose images differ in size are each a
`VideoError` naming the file (and frame). Frames are then decoded lazily, one at a time, in order; a frame
that fails to decode later names its index.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from redbench.datasets.raw import IMAGE_SUFFIXES, RawDataError, read_image_rgb

DEFAULT_FPS = 25.0  # a frame folder has no rate; 300-VW's videos are 25-30 fps


class VideoError(ValueError):
    """A video source that cannot be read; the message names the file (and the frame)."""


@dataclass(frozen=True)
class VideoSource:
    path: Path
    n_frames: int  # decodable frames, counted when opened
    fps: float
    size: tuple[int, int]  # (width, height) of every frame
    images: tuple[Path, ...] = ()  # a frame folder's files in order; empty for a video file

    @property
    def name(self) -> str:
        return self.path.stem if self.path.is_file() else self.path.name

    def frames(self) -> Iterator[np.ndarray]:
        """Each frame in order as (H, W, 3) uint8 RGB."""
        return _image_frames(self) if self.images else _video_frames(self)


def _natural_key(path: Path) -> tuple:
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name))


def frame_images(folder: Path) -> list[Path]:
    """The image files directly in `folder` (hidden files skipped), in natural name order."""
    found = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(found, key=_natural_key)


def open_video(path: str | os.PathLike, fps: float | None = None) -> VideoSource:
    """Check and describe a video file or frame folder (every frame is decoded once to count it)."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such video file or frame folder")
    if path.is_dir():
        images = frame_images(path)
        if not images:
            raise VideoError(f"{path}: no frame images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        first = _read_image(images[0], 0)
        h, w = first.shape[:2]
        return VideoSource(path, len(images), fps or DEFAULT_FPS, (w, h), tuple(images))
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{path}: not a video OpenCV can open")
        rate = capture.get(cv2.CAP_PROP_FPS)
        n, size = 0, None
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if size is None:
                size = (bgr.shape[1], bgr.shape[0])
            n += 1
    finally:
        capture.release()
    if n == 0 or size is None:
        raise VideoError(f"{path}: the video has no decodable frame (empty or not a video)")
    return VideoSource(path, n, fps or (rate if rate and np.isfinite(rate) and rate > 0 else DEFAULT_FPS), size)


def _read_image(path: Path, i: int) -> np.ndarray:
    try:
        return read_image_rgb(path)
    except RawDataError as e:
        raise VideoError(f"{e} (frame {i})") from None


def _image_frames(source: VideoSource) -> Iterator[np.ndarray]:
    w, h = source.size
    for i, p in enumerate(source.images):
        image = _read_image(p, i)
        if image.shape[:2] != (h, w):
            raise VideoError(f"{p}: frame {i} is {image.shape[1]}x{image.shape[0]}, the first frame {w}x{h}")
        yield image


def _video_frames(source: VideoSource) -> Iterator[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(source.path))
    if not capture.isOpened():
        raise VideoError(f"{source.path}: not a video OpenCV can open")
    try:
        for i in range(source.n_frames):
            ok, bgr = capture.read()
            if not ok:
                raise VideoError(f"{source.path}: frame {i} cannot be decoded ({source.n_frames} were counted)")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
