"""Write rendered sequences in the real raw layouts: 300-VW video folders, 300-W stills, Talking Face frames.

Every writer also writes the redbench sidecar (docs/interfaces.md): one JSON per video or per image.
.pts files are 1-based (redbench.datasets.pts.to_one_based), as in the iBUG releases.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from redbench.datasets.pts import format_pts, to_one_based
from redbench.datasets.synthetic.scene import Frame

SIDECAR_SCHEMA = 1
GENERATOR = "redbench.synthetic"


@contextlib.contextmanager
def portable_opencv() -> Iterator[None]:
    """Run the block with OpenCV's Intel IPP code paths off (the previous setting is restored afterwards).

    IPP picks its kernels by the CPU it runs on, and they do not give the same bits on every CPU: measured
    (docs/reproducibility.md), the float32 cv2.resize of the background texture gave other bits with IPP's
    SSE4.2 kernels (OPENCV_IPP=sse42) than with its AVX-512 ones, on the same machine. OpenCV's own code path
    gave the same bits with AVX-512, AVX2, SSE4 or no SIMD at all (OPENCV_CPU_DISABLE, cv2.setUseOptimized),
    and with 1 or 2 OpenCV threads. The generator draws and encodes inside this block.
    """
    was = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(False)
    try:
        yield
    finally:
        cv2.ipp.setUseIPP(was)


def sidecar(seed: int, identity: str, category: int | None, frames: list[Frame]) -> dict:
    return {
        "schema": SIDECAR_SCHEMA,
        "generator": GENERATOR,
        "seed": int(seed),
        "identity": identity,
        "category": category,
        "frames": [
            {"pose": [round(float(v), 4) for v in f.pose],
             "occluded": [bool(v) for v in f.occluded],
             "self_occluded": [bool(v) for v in f.self_occluded]}
            for f in frames
        ],
    }


def write_sidecar(path: Path, record: dict) -> None:
    # Compact and key-ordered: byte-identical for the same seed.
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n", encoding="utf-8")


def write_pts_1based(path: Path, landmarks: np.ndarray) -> None:
    """Write 0-based landmarks (68, 2) as an iBUG .pts file (1-based values).

    A plain write rather than redbench.datasets.pts.write_pts: the whole dataset folder is already written
    atomically (generate.write_dataset), and a temp file + rename per .pts cost a quarter of the generation
    time. The text is the same (pts.format_pts).
    """
    path.write_text(format_pts(to_one_based(landmarks)), encoding="utf-8")


def _meta(f: Frame) -> Frame:
    """The frame without its image (sidecars only need the labels; keeps memory flat)."""
    return Frame(image=np.empty((0, 0, 3), np.uint8), landmarks=f.landmarks, pose=f.pose, occluded=f.occluded,
                 self_occluded=f.self_occluded)


def write_vw_video(folder: Path, frames: Iterable[Frame], fps: float, quality: int, seed: int, identity: str,
                   category: int | None) -> int:
    """300-VW layout: folder/vid.avi (MJPG), folder/annot/000001.pts ..., folder/redbench.json."""
    (folder / "annot").mkdir(parents=True, exist_ok=True)
    writer = None
    kept: list[Frame] = []
    try:
        for i, f in enumerate(frames):
            if writer is None:
                h, w = f.image.shape[:2]
                writer = cv2.VideoWriter(str(folder / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"{folder / 'vid.avi'}: OpenCV cannot open an MJPG video writer")
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, quality)
            writer.write(cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
            write_pts_1based(folder / "annot" / f"{i + 1:06d}.pts", f.landmarks)
            kept.append(_meta(f))
    finally:
        if writer is not None:
            writer.release()
    write_sidecar(folder / "redbench.json", sidecar(seed, identity, category, kept))
    return len(kept)


def _write_image(path: Path, image: np.ndarray, quality: int) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"{path}: OpenCV could not write the image")


def write_still(folder: Path, stem: str, ext: str, frame: Frame, quality: int, seed: int, identity: str,
                category: int | None) -> None:
    """300-W layout: folder/stem.ext + folder/stem.pts + folder/stem.redbench.json."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_image(folder / f"{stem}{ext}", frame.image, quality)
    write_pts_1based(folder / f"{stem}.pts", frame.landmarks)
    write_sidecar(folder / f"{stem}.redbench.json", sidecar(seed, identity, category, [_meta(frame)]))


def write_tf(folder: Path, frames: Iterable[Frame], quality: int, seed: int, identity: str) -> int:
    """Talking Face layout: folder/franck_00000.jpg + franck_00000.pts ..., folder/redbench.json."""
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[Frame] = []
    for i, f in enumerate(frames):
        _write_image(folder / f"franck_{i:05d}.jpg", f.image, quality)
        write_pts_1based(folder / f"franck_{i:05d}.pts", f.landmarks)
        kept.append(_meta(f))
    write_sidecar(folder / "redbench.json", sidecar(seed, identity, None, kept))
    return len(kept)
