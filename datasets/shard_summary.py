"""What a shard or a shard folder holds: clips, frames, identities, subsets, occlusion, pose, box statistics.

Reads only the small per-frame arrays (never the crops), so summarising a folder is quick.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from redbench.datasets.shards import MANIFEST_NAME, ShardReader, load_manifest

_FIELDS = ("occluded", "occlusion_known", "self_occluded", "pose", "pose_pnp", "detector_found", "unreliable",
           "boxes/detector")


def _shard_arrays(reader: ShardReader) -> dict[str, np.ndarray]:
    return reader.read_frames(_FIELDS)  # (N, ...) each; small arrays only


def _detector_stats(a: dict[str, np.ndarray], frames: int) -> dict[str, Any]:
    """Frames the detector searched (a finite box: preprocess.boxes.detector_splits) and its hit rate there."""
    searched = np.isfinite(a["boxes/detector"]).all(axis=1) if frames else np.zeros(0, bool)
    n = int(searched.sum())
    return {"detector_searched": n,
            "detector_found_rate": float(a["detector_found"][searched].mean()) if n else None}


def summarize(paths: list[Path], header: dict[str, Any]) -> dict[str, Any]:
    """Pooled statistics over shards (paths) with a header (dataset, data_source, ...)."""
    clips, subsets, splits, identities = 0, Counter(), Counter(), set()
    arrays: dict[str, list[np.ndarray]] = {k: [] for k in _FIELDS}
    crop_size = None
    for p in paths:
        with ShardReader(p) as r:
            crop_size = r.crop_size
            clips += len(r.clips)
            for c in r.clips:
                subsets[c.subset] += c.n_frames
                splits[c.split] += c.n_frames
                identities.add(c.identity_name)
            for k, v in _shard_arrays(r).items():
                arrays[k].append(v)
    a = {k: np.concatenate(v) if v else np.zeros(0) for k, v in arrays.items()}
    frames = int(len(a["unreliable"]))
    known = a["occlusion_known"].astype(bool) if frames else np.zeros(0, bool)
    out: dict[str, Any] = {**header, "shards": len(paths), "crop_size": crop_size, "clips": clips, "frames": frames,
                           "identities": len(identities), "frames_per_split": dict(sorted(splits.items())),
                           "frames_per_subset": dict(sorted(subsets.items())),
                           "unreliable_frames": int(a["unreliable"].sum()) if frames else 0,
                           **_detector_stats(a, frames),
                           "occlusion_known_frames": int(known.sum())}
    if known.any():
        out["occluded_point_rate"] = float(a["occluded"][known].mean())
        out["self_occluded_point_rate"] = float(a["self_occluded"][known].mean())
    for key in ("pose", "pose_pnp"):
        pose = a[key].reshape(-1, 3) if frames else np.zeros((0, 3))
        ok = np.isfinite(pose).all(axis=1)
        if ok.any():
            p = pose[ok]
            out[key] = {"frames": int(ok.sum()),
                        **{f"{n}_p5_p50_p95": [round(float(v), 1) for v in np.percentile(p[:, i], [5, 50, 95])]
                           for i, n in enumerate(("yaw", "pitch", "roll"))},
                        "abs_yaw_over_30": round(float((np.abs(p[:, 0]) > 30).mean()), 3)}
    return out


def summarize_path(path: str | os.PathLike, verify: bool = False) -> dict[str, Any]:
    """Summary of one shard file or a shard folder (its manifest; verify=True checks every sha256)."""
    path = Path(path)
    if path.is_dir() or path.name == MANIFEST_NAME:
        m = load_manifest(path, verify=verify)
        header = {"path": str(m.root), "dataset": m.dataset, "data_source": m.data_source}
        pre = m.info.get("preprocess", {}).get("summary", {})
        out = summarize([m.root / s.path for s in m.shards], header)
        if pre.get("pose_pnp_yaw_abs_error_deg"):
            out["pose_pnp_yaw_abs_error_deg"] = pre["pose_pnp_yaw_abs_error_deg"]
        return out
    with ShardReader(path) as r:
        header = {"path": str(path), "dataset": r.dataset, "data_source": r.data_source, "split": r.split}
    return summarize([path], header)


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable lines, one fact per line."""
    lines = [f"{s['path']}: dataset {s['dataset']} ({s['data_source']} data), {s['shards']} shard(s), "
             f"crops {s['crop_size']}x{s['crop_size']}"]
    lines.append(f"  clips {s['clips']}, frames {s['frames']}, identities {s['identities']}")
    lines.append("  frames per split: " + ", ".join(f"{k} {v}" for k, v in s["frames_per_split"].items()))
    lines.append("  frames per subset: " + ", ".join(f"{k} {v}" for k, v in s["frames_per_subset"].items()))
    detector = (f"detector found a face in {100 * s['detector_found_rate']:.1f}% of the "
                f"{s['detector_searched']} frames it searched" if s["detector_searched"] else "no detector boxes")
    lines.append(f"  unreliable frames {s['unreliable_frames']}; {detector}")
    if s["occlusion_known_frames"]:
        lines.append(f"  occlusion known in {s['occlusion_known_frames']} frames: occluded points "
                     f"{100 * s['occluded_point_rate']:.1f}%, self-occluded {100 * s['self_occluded_point_rate']:.1f}%")
    else:
        lines.append("  occlusion: not annotated")
    for key, label in (("pose", "pose (source)"), ("pose_pnp", "pose (PnP from GT landmarks)")):
        if key in s:
            p = s[key]
            lines.append(f"  {label}, p5/p50/p95 deg: yaw {p['yaw_p5_p50_p95']}, pitch {p['pitch_p5_p50_p95']}, "
                         f"roll {p['roll_p5_p50_p95']}; |yaw| > 30: {100 * p['abs_yaw_over_30']:.1f}%")
        else:
            lines.append(f"  {label}: unknown")
    err = s.get("pose_pnp_yaw_abs_error_deg")
    if err and err.get("n"):
        lines.append(f"  PnP yaw |error| vs source ({err['n']} frames): median {err['median']:.2f} deg, "
                     f"p90 {err['p90']:.2f} deg")
    return "\n".join(lines)
