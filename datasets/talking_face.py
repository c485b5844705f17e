"""Talking Face (FGNet) reader: `franck_00000.jpg` + `franck_00000.pts`, numbered from 00000.

One person, one video of all frames, used as a test set. Images and .pts files are searched anywhere under
the root (the release ships the frames and the points as separate archives, so after extraction they may
sit in different folders); they are paired by file stem. The number in the name is the 0-based frame index
and must run 0..n-1 without gaps. Synthetic data adds `redbench.json` at the root.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable, Iterator

from redbench.datasets.raw import IMAGE_SUFFIXES, RawDataError, RawFrame, RawVideo, load_sidecar, read_image_rgb
from redbench.datasets.raw import read_landmarks

log = logging.getLogger(__name__)

_FRAME = re.compile(r"^franck_(\d{5})$")
NAME = "tf/franck"


def _by_number(paths: list[Path], what: str) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for p in paths:
        m = _FRAME.match(p.stem)
        if not m:
            continue
        k = int(m.group(1))
        if k in found:
            raise RawDataError(f"two {what} files for frame {k:05d}: {found[k]} and {p}")
        found[k] = p
    return found


def iter_videos(root: Path) -> Iterator[RawVideo]:
    """The one Talking Face video under `root`."""
    root = Path(root)
    if not root.is_dir():
        raise RawDataError(f"{root}: Talking Face folder not found")
    files = [p for p in root.rglob("franck_*") if p.is_file()]
    points = _by_number([p for p in files if p.suffix.lower() == ".pts"], ".pts")
    images = _by_number([p for p in files if p.suffix.lower() in IMAGE_SUFFIXES], "image")
    if not points:
        raise RawDataError(f"{root}: no franck_NNNNN.pts files found")
    for k in sorted(points):
        if k not in images:
            raise RawDataError(f"{points[k]}: no image franck_{k:05d}.jpg beside any .pts")
    unannotated = sorted(set(images) - set(points))
    if unannotated:
        log.warning("%s: %d images have no .pts and are left out (first: %05d)", root, len(unannotated), unannotated[0])
    for expected, k in enumerate(sorted(points)):
        if k != expected:
            raise RawDataError(f"{root}: franck_{expected:05d}.pts is missing (frames must run 00000..n-1)")
    order = sorted(points)
    sidecar = load_sidecar(root / "redbench.json", n_frames=len(order))

    def frames(wanted: Callable[[int], bool] | None = None) -> Iterator[RawFrame]:
        for k in order:
            if wanted is None or wanted(k):
                yield RawFrame(read_image_rgb(images[k]), read_landmarks(points[k]), k, unreliable=False)

    yield RawVideo(
        dataset="tf",
        name=NAME,
        identity=sidecar["identity"] if sidecar else NAME,
        split="test",
        subset="tf",
        n_frames=len(order),
        sidecar=sidecar,
        frames=frames,
    )
