"""Per-category statistics of a synthetic dataset: pose range, occluded points, motion.

Reads only the .pts files and the sidecars of the layouts written by redbench.datasets.synthetic.writers (no
image decoding), so it runs in a second on the default set.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from redbench.datasets.raw import RawDataError, read_landmarks


@dataclass(frozen=True)
class SequenceLabels:
    name: str
    category: int | None
    landmarks: np.ndarray  # (T, 68, 2) 0-based px
    pose: np.ndarray  # (T, 3) yaw, pitch, roll degrees
    occluded: np.ndarray  # (T, 68) bool
    self_occluded: np.ndarray  # (T, 68) bool


@dataclass(frozen=True)
class CategoryStats:
    category: str
    sequences: int
    frames: int
    yaw_abs_mean: float
    yaw_abs_p95: float
    yaw_abs_max: float
    pitch_abs_p95: float
    roll_abs_p95: float
    occluded_points: float  # fraction of all points covered by an occluder
    occluded_frames: float  # fraction of frames with at least one occluded point
    self_occluded_points: float
    motion_mean: float  # mean per-frame landmark displacement / face size (sqrt of box area); NaN for stills
    motion_p95: float


def _sequence(name: str, sidecar_path: Path, pts_paths: list[Path]) -> SequenceLabels:
    try:
        side = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RawDataError(f"{sidecar_path}: cannot read the sidecar: {e}") from None
    frames = side.get("frames", [])
    if len(frames) != len(pts_paths):
        raise RawDataError(f"{sidecar_path}: {len(frames)} sidecar frames but {len(pts_paths)} .pts files")
    return SequenceLabels(
        name=name,
        category=side.get("category"),
        landmarks=np.stack([read_landmarks(p) for p in pts_paths]),
        pose=np.array([f["pose"] for f in frames], float).reshape(-1, 3),
        occluded=np.array([f["occluded"] for f in frames], bool).reshape(-1, 68),
        self_occluded=np.array([f["self_occluded"] for f in frames], bool).reshape(-1, 68),
    )


def read_labels(dataset: str, root: str | os.PathLike) -> list[SequenceLabels]:
    """Every sequence (video or still) of a synthetic raw dataset with its labels."""
    root = Path(root)
    if not root.is_dir():
        raise RawDataError(f"{root}: folder not found")
    out: list[SequenceLabels] = []
    if dataset == "300vw":
        for folder in sorted(p for p in root.iterdir() if (p / "redbench.json").is_file()):
            out.append(_sequence(f"300vw/{folder.name}", folder / "redbench.json",
                                 sorted((folder / "annot").glob("*.pts"))))
    elif dataset == "300w":
        for side in sorted(root.rglob("*.redbench.json")):
            stem = side.name[: -len(".redbench.json")]
            out.append(_sequence(f"300w/{side.parent.relative_to(root).as_posix()}/{stem}", side,
                                 [side.with_name(stem + ".pts")]))
    elif dataset == "tf":
        out.append(_sequence("tf/franck", root / "redbench.json", sorted(root.glob("franck_*.pts"))))
    else:
        raise ValueError(f"unknown dataset {dataset!r}")
    if not out:
        raise RawDataError(f"{root}: no synthetic sidecars (redbench.json) found; is this synthetic {dataset} data?")
    return out


def motion(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame motion (T-1,): mean landmark displacement divided by the face size sqrt(w * h)."""
    box = np.concatenate([landmarks.min(axis=1), landmarks.max(axis=1)], axis=1)  # (T, 4)
    size = np.sqrt((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]))  # (T,)
    step = np.linalg.norm(np.diff(landmarks, axis=0), axis=2).mean(axis=1)  # (T-1,)
    return step / size[1:]


def category_stats(seqs: list[SequenceLabels], label: str) -> CategoryStats:
    pose = np.concatenate([s.pose for s in seqs])  # (N, 3)
    occ = np.concatenate([s.occluded for s in seqs])  # (N, 68)
    selfo = np.concatenate([s.self_occluded for s in seqs])
    mot = np.concatenate([motion(s.landmarks) for s in seqs if len(s.landmarks) > 1] or [np.array([])])
    a = np.abs(pose)
    return CategoryStats(
        category=label, sequences=len(seqs), frames=len(pose),
        yaw_abs_mean=float(a[:, 0].mean()), yaw_abs_p95=float(np.percentile(a[:, 0], 95)),
        yaw_abs_max=float(a[:, 0].max()), pitch_abs_p95=float(np.percentile(a[:, 1], 95)),
        roll_abs_p95=float(np.percentile(a[:, 2], 95)),
        occluded_points=float(occ.mean()), occluded_frames=float(occ.any(axis=1).mean()),
        self_occluded_points=float(selfo.mean()),
        motion_mean=float(mot.mean()) if mot.size else float("nan"),
        motion_p95=float(np.percentile(mot, 95)) if mot.size else float("nan"),
    )


def dataset_stats(dataset: str, root: str | os.PathLike) -> list[CategoryStats]:
    """Statistics per difficulty category (the sidecar's category), then over all sequences."""
    seqs = read_labels(dataset, root)
    cats = sorted({s.category for s in seqs if s.category is not None})
    rows = [category_stats([s for s in seqs if s.category == c], f"category{c}") for c in cats]
    rows.append(category_stats(seqs, "all"))
    return rows


def format_table(rows: list[CategoryStats]) -> str:
    cols = list(asdict(rows[0]))
    table = [cols] + [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in asdict(r).values()] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in table)
