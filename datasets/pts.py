"""The 300-W `.pts` landmark format.

    version: 1
    n_points: 68
    {
    x y
    ...
    }

`read_pts` returns the values exactly as written (1-based pixel coordinates in the iBUG sets); the shift to
0-based pixels happens once, in `to_zero_based`, which every dataset reader calls (menpo does the same:
it subtracts 1 on import).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from redbench._io import InputFileError, atomic_path, check_regular_file

# A 68-point file is about 1 KB (WFLW's 98 points, 1.5 KB): anything over this is not a .pts file.
MAX_PTS_BYTES = 2**20


class PtsError(ValueError):
    """A malformed .pts file; the message names the file and line (never the file's content: a .pts name can
    point at any file)."""


def to_zero_based(points: np.ndarray) -> np.ndarray:
    """The one documented place where .pts 1-based pixel coordinates become 0-based."""
    return np.asarray(points, dtype=np.float64) - 1.0


def to_one_based(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) + 1.0


def _parse_float(token: str, path: Path, lineno: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise PtsError(f"{path}:{lineno}: a coordinate is not a number") from None
    if not math.isfinite(value):
        raise PtsError(f"{path}:{lineno}: non-finite coordinate")
    return value


def read_pts(path: str | os.PathLike) -> np.ndarray:
    """Read a .pts file into an (n, 2) float64 array of the values as written (no 1-based shift)."""
    path = Path(path)
    try:
        check_regular_file(path, MAX_PTS_BYTES, ".pts file")
    except InputFileError as e:
        raise PtsError(str(e)) from None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise PtsError(f"{path}: not a text file ({e.reason})") from None
    # splitlines() handles LF, CRLF and CR; strip() handles trailing blanks; blank lines are skipped.
    lines = [(i + 1, raw.strip()) for i, raw in enumerate(text.splitlines())]
    lines = [(n, s) for n, s in lines if s]
    if not lines:
        raise PtsError(f"{path}:1: empty file (expected 'version:', 'n_points:', '{{', points, '}}')")
    n_points = None
    count_line = 0
    it = iter(lines)
    for lineno, line in it:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "version":
            continue
        if key == "n_points":
            try:
                n_points = int(value.strip())
            except ValueError:
                raise PtsError(f"{path}:{lineno}: n_points is not an integer") from None
            if n_points < 0:
                raise PtsError(f"{path}:{lineno}: negative n_points {n_points}")
            count_line = lineno
            continue
        if line == "{":
            open_line = lineno
            break
        raise PtsError(f"{path}:{lineno}: expected 'version:', 'n_points:' or '{{' (not a .pts file?)")
    else:
        raise PtsError(f"{path}:{lines[-1][0]}: missing opening brace '{{' before the end of the file")
    if n_points is None:
        raise PtsError(f"{path}:{open_line}: missing 'n_points:' header before '{{'")
    points: list[tuple[float, float]] = []
    closed = False
    for lineno, line in it:
        if line == "}":
            closed = True
            last = lineno
            break
        tokens = line.split()
        if len(tokens) != 2:
            raise PtsError(f"{path}:{lineno}: expected two coordinates 'x y', got {len(tokens)} value(s)")
        points.append((_parse_float(tokens[0], path, lineno), _parse_float(tokens[1], path, lineno)))
    if not closed:
        raise PtsError(f"{path}:{lines[-1][0]}: missing closing brace '}}' before the end of the file")
    trailing = [n for n, _ in it]
    if trailing:
        raise PtsError(f"{path}:{trailing[0]}: unexpected content after the closing brace (line {last})")
    if len(points) != n_points:
        raise PtsError(f"{path}:{count_line}: n_points says {n_points} but {len(points)} points are listed")
    return np.array(points, dtype=np.float64).reshape(-1, 2)


def format_pts(points: np.ndarray) -> str:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("points contain NaN or inf")
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    return f"version: 1\nn_points: {len(points)}\n{{\n{body}\n}}\n"


def write_pts(path: str | os.PathLike, points: np.ndarray) -> None:
    """Write points (values as given: pass 1-based coordinates for iBUG-style files), atomically."""
    text = format_pts(points)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
