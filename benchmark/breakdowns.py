"""Breakdowns of the scores: by 300-VW category / 300-W subset, |yaw|, occlusion, frames since an occluder
appeared, face motion, identity, clean frames, landmark group and visible vs occluded points (definitions
and thresholds: docs/metrics.md).

A *frame* breakdown splits the frames into groups (masks) and scores the same quantities in each; a
*quantity* breakdown scores different per-frame quantities (e.g. the NME of the eyes only) on all frames.
Every group is summarised for all methods at once, so each group's bootstrap resamples are shared by the
methods (paired). A group with fewer than `min_clips` clips gets frame-block intervals (benchmark.aggregate),
and its `intervals` field says so.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from redbench.config import param
from redbench.benchmark.aggregate import BootstrapConfig, clip_sums, summarise, uses_frame_blocks
from redbench.benchmark.ground_truth import GroundTruth
from redbench.benchmark.metrics import normaliser
from redbench.benchmark.scoring import stability_masks
from redbench.landmarks import COARSE_GROUPS


@dataclass(frozen=True)
class BreakdownConfig:
    yaw_bins: tuple[float, ...] = param((0, 15, 30, 45, 60, 90), min=0, max=180)  # |yaw| bin edges in degrees; beyond the last: last bin
    occlusion_heavy: int = 10  # frames with >= this many occluded points are "heavy"; 1 .. heavy-1 are "some"
    max_identities: int = param(200, min=0)  # identity breakdown skipped above this many identities (still images)
    # frames since an occluder first covered a point: bins [a, b) of the occlusion episode's age in frames
    occlusion_age_bins: tuple[int, ...] = param((0, 1, 6, 21), min=0)
    # GT face motion per frame, mean point displacement from the previous frame / inter-ocular distance: [a, b)
    motion_bins: tuple[float, ...] = param((0, 0.01, 0.03, 0.1), min=0)

    def __post_init__(self) -> None:
        for name in ("yaw_bins", "occlusion_age_bins", "motion_bins"):
            b = getattr(self, name)
            if len(b) < 2 or b[0] != 0 or any(x >= y for x, y in zip(b, b[1:])):
                raise ValueError(f"{name} must start at 0 and increase, got {b}")
        if self.occlusion_heavy < 2:
            raise ValueError(f"occlusion_heavy must be >= 2 (1 .. heavy-1 is 'some'), got {self.occlusion_heavy}")


def yaw_groups(gt: GroundTruth, bins: tuple[float, ...]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Masks by |yaw| bin, from the source pose and from pose_pnp where the source pose is NaN."""
    src = gt.pose[:, 0]
    use_pnp = ~np.isfinite(src)
    yaw = np.abs(np.where(use_pnp, gt.pose_pnp[:, 0], src))  # (N,)
    known = np.isfinite(yaw)
    edges = np.asarray(bins, dtype=np.float64)
    # bin k holds edges[k] <= |yaw| < edges[k+1]; the last bin is closed and also takes |yaw| beyond it
    k = np.clip(np.searchsorted(edges, np.where(known, yaw, 0), side="right") - 1, 0, len(edges) - 2)
    groups = {f"{edges[i]:g}-{edges[i + 1]:g}": known & (k == i) for i in range(len(edges) - 1)}
    info = {
        "yaw_source_frames": {
            "pose": int((known & ~use_pnp).sum()),
            "pose_pnp": int((known & use_pnp).sum()),
            "unknown": int((~known).sum()),
        },
        "note": "|yaw| in degrees from the source pose; pose_pnp (estimated from GT landmarks) where the "
                "source pose is NaN; bins [a, b), the last bin closed and taking |yaw| beyond it",
    }
    return groups, info


def occlusion_groups(gt: GroundTruth, heavy: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Masks by the number of points covered by an occluder: none (0), some (1 .. heavy-1), heavy (>= heavy)."""
    n_occ = gt.occluded.sum(axis=1)  # (N,)
    known = gt.occlusion_known
    groups = {
        "none": known & (n_occ == 0),
        f"some (1-{heavy - 1})": known & (n_occ >= 1) & (n_occ < heavy),
        f"heavy (>={heavy})": known & (n_occ >= heavy),
    }
    info = {"unknown_frames": int((~known).sum()),
            "note": "occluded = covered by an occluder (not self-occlusion); frames without occlusion labels "
                    "are left out"}
    return groups, info


def occlusion_age(gt: GroundTruth) -> np.ndarray:
    """Frames since an occluder first covered a point, per frame (N,): 0 on the first frame of an occlusion
    episode (a run of a clip's rows with at least one point covered), counted in frame numbers; -1 where no
    point is covered. Rows sorted by clip and frame."""
    occ = gt.occluded.any(axis=1)  # (N,)
    new_clip = np.r_[True, gt.clip_ids[1:] != gt.clip_ids[:-1]] if len(gt) else np.zeros(0, bool)
    starts = occ & (new_clip | ~np.r_[False, occ[:-1]])
    start_row = np.maximum.accumulate(np.where(starts, np.arange(len(gt)), 0)) if len(gt) else np.zeros(0, int)
    return np.where(occ, gt.frame_indices - gt.frame_indices[start_row], -1)


def _bin_labels(edges: tuple[float, ...], integer: bool) -> list[str]:
    """[a, b) bins, the last open: "0", "1-5", "21+" for frame counts; "0-0.01", "0.1+" otherwise."""
    out = []
    for lo, hi in zip(edges, edges[1:]):
        out.append((f"{lo:g}" if hi - lo == 1 else f"{lo:g}-{hi - 1:g}") if integer else f"{lo:g}-{hi:g}")
    return out + [f"{edges[-1]:g}+"]


def _binned(x: np.ndarray, known: np.ndarray, edges: tuple[float, ...], integer: bool) -> dict[str, np.ndarray]:
    k = np.searchsorted(np.asarray(edges, dtype=np.float64), np.where(known, x, 0), side="right") - 1
    return {label: known & (k == i) for i, label in enumerate(_bin_labels(edges, integer))}


def occlusion_age_groups(gt: GroundTruth, bins: tuple[int, ...]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Masks by frames since an occluder first covered a point (`occlusion_age`): "none" (no point covered),
    then the bins."""
    age = occlusion_age(gt)
    known = gt.occlusion_known
    groups = {"none": known & (age < 0), **_binned(age, known & (age >= 0), bins, integer=True)}
    info = {"unknown_frames": int((~known).sum()),
            "note": "frames since the first frame of the current occlusion episode (a run of frames of a clip in "
                    "which an occluder covers at least one point), by frame number: 0 = the occluder's first "
                    "frame; none = no point covered; frames without occlusion labels are left out"}
    return groups, info


def motion_groups(gt: GroundTruth, bins: tuple[float, ...]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Masks by the GT face motion of each frame: the mean over the 68 points of |g_t - g_{t-1}| divided by
    the inter-ocular distance of frame t; frames without the previous frame of their clip are left out."""
    codes = np.cumsum(np.r_[True, gt.clip_ids[1:] != gt.clip_ids[:-1]]) if len(gt) else np.zeros(0, int)
    has_prev = stability_masks(codes, gt.frame_indices)[0]
    motion = np.full(len(gt), np.nan)
    if len(gt) >= 2:
        step = gt.landmarks[1:] - gt.landmarks[:-1]  # (N-1, 68, 2)
        motion[1:] = np.hypot(step[..., 0], step[..., 1]).mean(axis=1) / normaliser(gt.landmarks[1:], "inter_ocular")
    known = has_prev & np.isfinite(motion)
    groups = _binned(motion, known, bins, integer=False)
    info = {"unknown_frames": int((~known).sum()),
            "note": "GT face motion per frame: mean over the 68 points of |g_t - g_{t-1}| / inter-ocular distance "
                    "of frame t, bins [a, b); first frames of clips (and frames after a gap) are left out"}
    return groups, info


def frame_breakdowns(gt: GroundTruth, cfg: BreakdownConfig) -> dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Kind -> (label -> frame mask (N,), info about the breakdown)."""
    out: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
    subsets = {s: gt.subset == s for s in sorted(set(gt.subset.tolist()))}
    out["subset"] = (subsets, {"note": "300-VW category1..3, 300-W common/challenging, tf"})
    out["frames"] = ({"all": np.ones(len(gt), bool), "clean": ~gt.unreliable},
                     {"note": "clean = frames not on the dataset's unreliable lists (300-VW: extra/ and, on "
                               "real data, mmpose's 2,127 broken frames)",
                      "unreliable_frames": int(gt.unreliable.sum())})
    out["yaw"] = yaw_groups(gt, cfg.yaw_bins)
    out["occlusion"] = occlusion_groups(gt, cfg.occlusion_heavy)
    if len(gt) >= 2 and (gt.clip_ids[1:] == gt.clip_ids[:-1]).any():  # video: stills have no occlusion episodes
        out["occlusion_age"] = occlusion_age_groups(gt, cfg.occlusion_age_bins)
    out["motion"] = motion_groups(gt, cfg.motion_bins)
    ids = sorted(set(gt.identity.tolist()))
    if len(ids) <= cfg.max_identities:
        out["identity"] = ({i: gt.identity == i for i in ids}, {})
    return out


QUANTITY_BREAKDOWNS: dict[str, dict[str, str]] = {
    "landmark_group": {name: f"group/{name}" for name in COARSE_GROUPS},
    "point_visibility": {"visible": "nme_visible", "occluded": "nme_occluded"},
}


def _summarise_methods(values: dict[str, dict[str, np.ndarray]], keys: list[str], rename: dict[str, str],
                       codes: np.ndarray, boot: BootstrapConfig) -> tuple[dict[str, Any], int, str]:
    """Pooled and video means with intervals of `keys` for every method over the frames in `codes`."""
    methods = list(values)
    _, local = np.unique(codes, return_inverse=True)
    sums = clip_sums([values[m][k] for m in methods for k in keys], local)  # M*K columns
    out = summarise(sums, boot)
    res: dict[str, Any] = {}
    for i, m in enumerate(methods):
        res[m] = {}
        for j, k in enumerate(keys):
            c = i * len(keys) + j
            name = rename.get(k, k)
            res[m][name] = out["pooled"][c].as_dict()
            res[m][f"{name}/video"] = out["video"][c].as_dict()
    return res, sums.n_clips, "frame_blocks" if uses_frame_blocks(sums, boot) else "clips"


def breakdowns(values: dict[str, dict[str, np.ndarray]], gt: GroundTruth, clip_codes: np.ndarray,
               keys: list[str], cfg: BreakdownConfig, boot: BootstrapConfig,
               pool: Executor | None = None) -> dict[str, Any]:
    """Every breakdown of every method: kind -> {"info", "groups": label -> {n_frames, n_clips, methods}}.

    values: method -> quantity name -> (N,) per-frame values aligned with gt; keys: the quantities scored in
    each frame group (e.g. nme, auc@0.08, fr@0.08). The groups are summarised in pool's threads when given
    (each group's bootstrap is seeded alone, so the results do not depend on it).
    """
    jobs: list[tuple[str, str, np.ndarray, list[str], dict[str, str]]] = []  # kind, label, rows, keys, rename
    infos: dict[str, Any] = {}
    for kind, (groups, info) in frame_breakdowns(gt, cfg).items():
        infos[kind] = info
        jobs += [(kind, label, mask, keys, {}) for label, mask in groups.items() if mask.any()]
    for kind, quantities in QUANTITY_BREAKDOWNS.items():
        infos[kind] = {"quantities": quantities}
        for label, q in quantities.items():
            defined = np.isfinite(next(iter(values.values()))[q])
            if defined.any():
                jobs.append((kind, label, defined, [q], {q: "nme"}))

    def one(job: tuple[str, str, np.ndarray, list[str], dict[str, str]]) -> dict[str, Any]:
        _, _, rows, ks, rename = job
        sub = {m: {k: v[k][rows] for k in ks} for m, v in values.items()}
        methods, n_clips, how = _summarise_methods(sub, ks, rename, clip_codes[rows], boot)
        return {"n_frames": int(rows.sum()), "n_clips": n_clips, "intervals": how, "methods": methods}

    results = list(pool.map(one, jobs) if pool is not None else map(one, jobs))
    out: dict[str, Any] = {kind: {"info": info, "groups": {}} for kind, info in infos.items()}
    for (kind, label, *_), res in zip(jobs, results):
        out[kind]["groups"][label] = res
    return out
