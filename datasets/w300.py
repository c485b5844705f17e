"""300-W reader: afw/, helen/{trainset,testset}/, lfpw/{trainset,testset}/, ibug/ of images + same-stem .pts.

Each annotated face is a `RawVideo` of one frame and its own identity (300-W has no identity labels). The
official release stores one image file per annotated face (`<id>_<k>.jpg` beside `<id>_<k>.pts`), so an
image is found by the .pts stem; images without a .pts are ignored. Synthetic data adds a
`<stem>.redbench.json` sidecar beside the image.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator

from redbench.datasets.raw import (
    RawDataError,
    RawFrame,
    RawVideo,
    list_image_files,
    load_sidecar,
    read_image_rgb,
    read_landmarks,
)
from redbench.datasets.splits import W300_FOLDERS, w300_split

log = logging.getLogger(__name__)


def _frames(image_path: Path, pts_path: Path):
    def frames(wanted: Callable[[int], bool] | None = None) -> Iterator[RawFrame]:
        if wanted is None or wanted(0):
            landmarks = read_landmarks(pts_path)  # (68, 2) 0-based
            yield RawFrame(read_image_rgb(image_path), landmarks, frame_index=0, unreliable=False)

    return frames


def iter_videos(root: Path, subsets: tuple[str, ...] | None = None) -> Iterator[RawVideo]:
    """Every annotated face under the 300-W `root`, optionally only those of `subsets` (train/common/challenging)."""
    root = Path(root)
    if not root.is_dir():
        raise RawDataError(f"{root}: 300-W folder not found")
    present = [f for f in W300_FOLDERS if (root / f.path).is_dir()]
    if not present:
        names = ", ".join(f.path for f in W300_FOLDERS)
        raise RawDataError(f"{root}: none of the 300-W folders ({names}) is there")
    for folder in W300_FOLDERS:
        if folder not in present:
            log.warning("%s: 300-W folder %s is missing; its faces are left out", root, folder.path)
    for folder in present:
        if subsets is not None and folder.subset not in subsets:
            continue
        yield from _folder_videos(root, folder.path, folder.subset, folder.expected)


def _folder_videos(root: Path, rel: str, subset: str, expected: int) -> Iterator[RawVideo]:
    folder = root / rel
    images = list_image_files(folder)
    pts_files = sorted(p for p in folder.glob("*.pts") if not p.name.startswith("."))
    if len(pts_files) != expected:
        # Not an error: synthetic data and partial copies are smaller than the official release.
        log.info("%s: %d annotated faces (the official release has %d)", folder, len(pts_files), expected)
    for pts_path in pts_files:
        image_path = images.get(pts_path.stem)
        if image_path is None:
            raise RawDataError(f"{pts_path}: no image with the same name (looked for {pts_path.stem}.jpg/.png/...)")
        name = f"300w/{rel}/{pts_path.stem}"
        sidecar = load_sidecar(folder / f"{pts_path.stem}.redbench.json", n_frames=1)
        yield RawVideo(
            dataset="300w",
            name=name,
            identity=sidecar["identity"] if sidecar else name,
            split=w300_split(subset),
            subset=subset,
            n_frames=1,
            sidecar=sidecar,
            frames=_frames(image_path, pts_path),
        )
