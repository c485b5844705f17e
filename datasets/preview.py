"""Contact sheets: a grid of frames of any raw dataset with their landmarks drawn.

Frames are read with the dataset readers (redbench.datasets.raw.iter_raw_videos), so the sheet shows exactly
what preprocessing will see. Colours: green = visible, red = covered by an occluder, orange = self-occluded
(hidden by the head), from the synthetic sidecar where there is one; real data has no flags (all green).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

VISIBLE = (40, 230, 60)
OCCLUDED = (255, 40, 40)
SELF_OCCLUDED = (255, 170, 0)


@dataclass(frozen=True)
class PreviewSample:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) 0-based px
    occluded: np.ndarray | None  # (68,) bool
    self_occluded: np.ndarray | None  # (68,) bool
    label: str


def draw_sample(sample: PreviewSample, zoom: float) -> np.ndarray:
    """The frame scaled by `zoom` (RGB) with landmarks and the label drawn."""
    img = cv2.resize(sample.image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
    n = len(sample.landmarks)
    occ = sample.occluded if sample.occluded is not None else np.zeros(n, bool)
    selfo = sample.self_occluded if sample.self_occluded is not None else np.zeros(n, bool)
    r = max(1, int(round(zoom)))
    for i, (x, y) in enumerate(sample.landmarks):
        c = OCCLUDED if occ[i] else SELF_OCCLUDED if selfo[i] else VISIBLE
        centre = (int(round((x + 0.5) * zoom - 0.5)), int(round((y + 0.5) * zoom - 0.5)))
        cv2.circle(img, centre, r, c, -1, cv2.LINE_AA)
    cv2.rectangle(img, (0, 0), (img.shape[1], 14), (0, 0, 0), -1)
    cv2.putText(img, sample.label, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def contact_sheet(samples: Sequence[PreviewSample], cols: int = 4, zoom: float = 1.5) -> np.ndarray:
    """A grid (RGB uint8) of the samples; tiles are padded to the largest frame."""
    if not samples:
        raise ValueError("no frames to put on the contact sheet")
    tiles = [draw_sample(s, zoom) for s in samples]
    th = max(t.shape[0] for t in tiles)
    tw = max(t.shape[1] for t in tiles)
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (th + 2), cols * (tw + 2), 3), 255, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = r * (th + 2), c * (tw + 2)
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t
    return sheet


def _flags(sidecar: dict | None, i: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not sidecar:
        return None, None
    f = sidecar["frames"][i]
    return np.asarray(f["occluded"], bool), np.asarray(f["self_occluded"], bool)


def collect_samples(dataset: str, root: str | os.PathLike, n: int = 16, seed: int = 0,
                    frames_per_video: int = 2) -> list[PreviewSample]:
    """Up to n frames spread over the subsets and videos of a raw dataset (read with its reader)."""
    from redbench.datasets.raw import iter_raw_videos

    videos = list(iter_raw_videos(dataset, Path(root)))
    rng = np.random.default_rng(seed)
    frames_per_video = max(frames_per_video, -(-n // max(1, len(videos))))  # few videos (TF): more frames each
    by_subset: dict[str, list] = {}
    for v in videos:
        by_subset.setdefault(v.subset, []).append(v)
    # Round-robin over subsets so every subset (e.g. each 300-VW category) shows up.
    order: list = []
    planned = 0
    pools = {k: list(rng.permutation(len(vs))) for k, vs in by_subset.items()}
    while any(pools.values()) and planned < n:
        for k in sorted(pools):
            if pools[k] and planned < n:
                v = by_subset[k][pools[k].pop()]
                order.append(v)
                planned += min(frames_per_video, v.n_frames)
    samples: list[PreviewSample] = []
    for v in order:
        per = 1 if v.n_frames == 1 else min(frames_per_video, v.n_frames, n - len(samples))
        wanted = set(np.linspace(0, v.n_frames - 1, per + 2)[1:-1].round().astype(int).tolist()) if per > 1 \
            else {int(rng.integers(v.n_frames))}
        for f in v.frames():
            if f.frame_index in wanted:
                occ, selfo = _flags(v.sidecar, f.frame_index)
                cat = v.sidecar.get("category") if v.sidecar else None
                label = f"{v.name} #{f.frame_index}" + (f" c{cat}" if cat is not None else "")
                samples.append(PreviewSample(f.image, f.landmarks, occ, selfo, label))
            if f.frame_index >= max(wanted):
                break
        if len(samples) >= n:
            break
    return samples[:n]


def write_contact_sheet(dataset: str, root: str | os.PathLike, out_png: str | os.PathLike, n: int = 16,
                        cols: int = 4, zoom: float = 1.5, seed: int = 0) -> int:
    """Write a contact sheet PNG of a raw dataset; returns the number of frames on it."""
    from redbench._io import atomic_path

    samples = collect_samples(dataset, root, n=n, seed=seed)
    sheet = contact_sheet(samples, cols=cols, zoom=zoom)
    ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{out_png}: could not encode the PNG")
    with atomic_path(out_png) as tmp:
        tmp.write_bytes(png.tobytes())
    return len(samples)
