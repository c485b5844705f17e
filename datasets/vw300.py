"""300-VW reader: `NNN/vid.avi` + `NNN/annot/000001.pts ...`, one `RawVideo` per video folder.

Layout (protocols.md): 114 folders named by a 3-digit video id; `annot/%06d.pts` numbered from 1, one per
frame, so annotation k is video frame k-1 (0-based). Frames come from pre-extracted images when a folder
`NNN/imgs/` or `NNN/frames/` holds `%06d.png|jpg` (numbered from 1, as peers' `ffmpeg ... %06d.png` writes
them), else from `NNN/vid.avi`, decoded lazily with cv2.VideoCapture one frame at a time.

Split: the video id decides train / category 1-3 (redbench.datasets.splits). A 3-digit folder whose id is in
none of the lists is an error (UnknownVideoError): the standard protocol must not change silently. Folders
whose name is not 3 digits (`extra/`, notes) are not videos and are ignored.

Unreliable frames, from two sources merged into the one `unreliable` flag that compare scores both ways (all
frames and clean frames): mmpose's list of 2,127 broken frames in 16 test videos (datasets/vw300_broken.py;
real data only, i.e. videos without the synthetic generator's sidecar), and `extra/`. Assumed layout of
`extra/` (the release's own description of this folder was not at hand; unverified): a folder `extra/` at
the dataset root, or inside a video folder, holding text files whose name starts with the video id
(`114.txt`, `114_unreliable.txt`; inside `NNN/extra/` any file).
Files with a .txt/.lst/.csv suffix or none are read; others are skipped with a warning. Each lists 1-based
frame numbers in .pts numbering: whitespace- or comma-separated integers, `a-b` inclusive ranges, or frame
file names (`000123.pts`, `000123.png`); `#` starts a comment. A token that is none of these, or a number
outside 1..n_frames, is an error naming the file and line, so a release whose format differs fails loudly
instead of flagging the wrong frames.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable, Iterator

from redbench._io import InputFileError, check_regular_file
from redbench.datasets.raw import RawDataError, RawFrame, RawVideo, load_sidecar, read_image_rgb, read_landmarks
from redbench.datasets.splits import vw300_split, vw300_subset

log = logging.getLogger(__name__)

_VIDEO_ID = re.compile(r"^\d{3}$")
_NUMBERED = re.compile(r"^(\d+)\.(pts|png|jpg|jpeg)$", re.IGNORECASE)
FRAME_FOLDERS = ("imgs", "frames")
VIDEO_FILES = ("vid.avi", "vid.mp4")
_LIST_SUFFIXES = ("", ".txt", ".lst", ".csv")  # extra/ files read as frame lists; others are warned about


class FrameCountError(RawDataError):
    """The video's decodable frames and its .pts files disagree in number."""


def iter_videos(root: Path, subsets: tuple[str, ...] | None = None) -> Iterator[RawVideo]:
    """Every video under the 300-VW `root`, in id order, optionally only those of `subsets`."""
    root = Path(root)
    if not root.is_dir():
        raise RawDataError(f"{root}: 300-VW folder not found")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _VIDEO_ID.match(p.name))
    if not folders:
        raise RawDataError(f"{root}: no 300-VW video folders (3-digit names such as 001/) found")
    for folder in folders:
        subset = vw300_subset(folder.name)
        if subsets is not None and subset not in subsets:
            continue
        yield read_video(root, folder.name, subset)


def read_video(root: Path, video_id: str, subset: str) -> RawVideo:
    folder = root / video_id
    pts_paths = _numbered_files(folder / "annot", (".pts",), what="annotation")
    n = len(pts_paths)
    sidecar = load_sidecar(folder / "redbench.json", n_frames=n)
    # synthetic videos borrow the real ids but not their broken frames: the list applies to real data only
    broken = frozenset() if sidecar else known_broken_frames(video_id, n)
    unreliable = unreliable_frames(root, video_id, n) | broken
    name = f"300vw/{video_id}"
    frame_folder = next((folder / f for f in FRAME_FOLDERS if (folder / f).is_dir()), None)
    if frame_folder is not None:
        images = _numbered_files(frame_folder, (".png", ".jpg", ".jpeg"), what="frame image")
        if len(images) != n:
            raise FrameCountError(
                f"{name}: {frame_folder} has {len(images)} frame images but annot/ has {n} .pts files"
            )
        frames = _image_frames(images, pts_paths, unreliable)
    else:
        video_path = next((folder / f for f in VIDEO_FILES if (folder / f).is_file()), None)
        if video_path is None:
            raise RawDataError(f"{folder}: neither vid.avi nor a frame folder ({', '.join(FRAME_FOLDERS)}/)")
        frames = _video_frames(name, video_path, pts_paths, unreliable)
    return RawVideo(
        dataset="300vw",
        name=name,
        identity=sidecar["identity"] if sidecar else name,
        split=vw300_split(subset),
        subset=subset,
        n_frames=n,
        sidecar=sidecar,
        frames=frames,
    )


def _numbered_files(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """Files `%06d<suffix>` in `folder`, checked to be numbered 1..n without gaps, in number order."""
    if not folder.is_dir():
        raise RawDataError(f"{folder}: folder not found")
    numbered: dict[int, Path] = {}
    for p in folder.iterdir():
        m = _NUMBERED.match(p.name)
        if m and p.suffix.lower() in suffixes:
            k = int(m.group(1))
            if k in numbered:
                raise RawDataError(f"{folder}: two {what} files numbered {k}: {numbered[k].name}, {p.name}")
            numbered[k] = p
    if not numbered:
        raise RawDataError(f"{folder}: no {what} files ({'|'.join(suffixes)} numbered from 000001)")
    for expected, k in enumerate(sorted(numbered), start=1):
        if k != expected:
            raise RawDataError(f"{folder}: {what} {expected:06d} is missing (numbering must run 1..n)")
    return [numbered[k] for k in sorted(numbered)]


def _image_frames(images: list[Path], pts_paths: list[Path], unreliable: frozenset[int]):
    def frames(wanted: Callable[[int], bool] | None = None) -> Iterator[RawFrame]:
        for i, (image_path, pts_path) in enumerate(zip(images, pts_paths)):
            if wanted is None or wanted(i):
                yield RawFrame(read_image_rgb(image_path), read_landmarks(pts_path), i, (i + 1) in unreliable)

    return frames


def _video_frames(name: str, video_path: Path, pts_paths: list[Path], unreliable: frozenset[int]):
    def frames(wanted: Callable[[int], bool] | None = None) -> Iterator[RawFrame]:
        import cv2

        n = len(pts_paths)
        try:
            check_regular_file(video_path, what="video")  # FFmpeg would wait on a FIFO for ever
        except InputFileError as e:
            raise RawDataError(str(e)) from None
        capture = cv2.VideoCapture(str(video_path))
        if not capture.isOpened():
            raise RawDataError(f"{video_path}: OpenCV cannot open this video")
        try:
            for i, pts_path in enumerate(pts_paths):
                # read() is grab() + retrieve(): grab() decodes the frame (most of read()'s time), retrieve() converts
                if not capture.grab():
                    raise FrameCountError(
                        f"{name}: {video_path} has {i} decodable frames but annot/ has {n} .pts files"
                    )
                if wanted is not None and not wanted(i):
                    continue
                ok, bgr = capture.retrieve()
                if not ok:
                    raise RawDataError(f"{name}: {video_path} frame {i} cannot be decoded")
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # (H, W, 3) uint8
                yield RawFrame(rgb, read_landmarks(pts_path), i, (i + 1) in unreliable)
            extra = 0
            while capture.grab():  # count without converting
                extra += 1
            if extra:
                raise FrameCountError(
                    f"{name}: {video_path} has {n + extra} decodable frames but annot/ has {n} .pts files"
                )
        finally:
            capture.release()

    return frames


def unreliable_frames(root: Path, video_id: str, n_frames: int) -> frozenset[int]:
    """1-based frame numbers listed for `video_id` in `extra/` (see the module docstring for the layout)."""
    lists: list[Path] = []
    shared = root / "extra"
    if shared.is_dir():
        lists += sorted(p for p in shared.iterdir() if p.is_file() and _names_video(p.name, video_id))
    own = root / video_id / "extra"
    if own.is_dir():
        lists += sorted(p for p in own.iterdir() if p.is_file() and not p.name.startswith("."))
    numbers: set[int] = set()
    for path in lists:
        if path.suffix.lower() not in _LIST_SUFFIXES:
            log.warning("%s: not a text frame list (%s); ignored", path, "|".join(s or "none" for s in _LIST_SUFFIXES))
            continue
        numbers |= _parse_frame_list(path, n_frames)
    if numbers:
        log.info("300vw/%s: %d frames marked unreliable by %s", video_id, len(numbers), ", ".join(map(str, lists)))
    return frozenset(numbers)


def known_broken_frames(video_id: str, n_frames: int) -> frozenset[int]:
    """mmpose's broken frames of a real 300-VW video (redbench.datasets.vw300_broken), 1-based .pts numbers.

    A video shorter than its list (a cut copy keeps the release's numbering) keeps the listed frames it has;
    the others are dropped with a warning, since a wholly different video would be flagged at random.
    """
    from redbench.datasets.vw300_broken import SOURCE, broken_frames

    listed = broken_frames(video_id)
    frames = frozenset(k for k in listed if k <= n_frames)
    if len(frames) < len(listed):
        log.warning("300vw/%s: %s lists frames up to %d as broken, but annot/ has %d .pts files: %d listed "
                    "frame(s) beyond them ignored (not the full 300-VW release of this video?)", video_id,
                    SOURCE, max(listed), n_frames, len(listed) - len(frames))
    if frames:
        log.info("300vw/%s: %d frames marked unreliable by mmpose's broken-frame list", video_id, len(frames))
    return frames


def _names_video(filename: str, video_id: str) -> bool:
    return filename.startswith(video_id) and (len(filename) == 3 or not filename[3].isdigit())


def _parse_frame_list(path: Path, n_frames: int) -> set[int]:
    numbers: set[int] = set()
    try:
        check_regular_file(path, 2**20, "frame list")
    except InputFileError as e:
        raise RawDataError(str(e)) from None
    text = path.read_text(encoding="utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0]
        for token in line.replace(",", " ").split():
            numbers |= _parse_token(token, path, lineno, n_frames)
    return numbers


def _parse_token(token: str, path: Path, lineno: int, n_frames: int) -> set[int]:
    m = _NUMBERED.match(token)
    if m:
        lo = hi = int(m.group(1))
    elif re.fullmatch(r"\d+", token):
        lo = hi = int(token)
    elif re.fullmatch(r"\d+-\d+", token):
        lo, hi = (int(t) for t in token.split("-"))
    else:
        raise RawDataError(f"{path}:{lineno}: not a frame number, range or frame file name (a token of "
                           f"{len(token)} characters)")
    if not 1 <= lo <= hi <= n_frames:
        raise RawDataError(f"{path}:{lineno}: frame {token!r} is outside 1..{n_frames} (1-based .pts numbering)")
    return set(range(lo, hi + 1))
