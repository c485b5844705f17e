"""LDEQ's flicker (NMF) in compare: the per-frame values and their place in metrics.json.

`metrics.flicker` gives LDEQ's per-frame value (the RMS over points of the normalised change of the error)
and `metrics.nmf` the RMS over the frames of one video. compare aggregates means, so it carries the squared
per-frame value (`nmf_sq`, NaN on the first frame of a clip and across gaps) through the bootstrap, and
metrics.json holds its square root: `nmf` = the RMS over every scored frame (LDEQ's NMF of all frames
pooled), `nmf/video` = the RMS over clips of each clip's NMF (every clip weighs the same; LDEQ averages its
per-video NMFs). The square root is monotone, so the ends of the interval are the roots of the ends.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np

from redbench.benchmark import metrics as M
from redbench.benchmark.scoring import by_blocks, stability_masks

SQUARED_KEY = "nmf_sq"


def flicker_frame_values(pred: np.ndarray, gt_landmarks: np.ndarray, clip_codes: np.ndarray,
                         frame_indices: np.ndarray, blocks: list[slice],
                         pool: Executor | None = None) -> dict[str, np.ndarray]:
    """{"nmf_sq": (N,)}: the squared `metrics.flicker` of each row that follows the previous row in its clip
    (rows sorted by clip and frame; blocks of whole clips, `scoring.clip_blocks`)."""

    def one(b: slice) -> dict[str, np.ndarray]:
        p, g = pred[b], gt_landmarks[b]
        out = np.full(len(g), np.nan)
        if len(g) >= 2:
            out[1:] = M.flicker(p, g) ** 2
        out[~stability_masks(clip_codes[b], frame_indices[b])[0]] = np.nan
        return {SQUARED_KEY: out}

    return by_blocks(one, blocks, pool)


def _root(v: dict[str, Any]) -> dict[str, Any]:
    def f(x: float | None) -> float | None:
        return None if x is None else float(np.sqrt(x))

    return {**v, "value": f(v["value"]), "ci": [f(x) for x in v["ci"]]}


def flicker_layout(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json keys of the flicker: `nmf_sq[/video]` -> `nmf[/video]`, square-rooted, in place of the
    squared key. Other keys are left alone."""
    out = {}
    for k, v in metrics.items():
        if k.split("/")[0] == SQUARED_KEY:
            out["nmf" + k[len(SQUARED_KEY):]] = _root(v)
        else:
            out[k] = v
    return out
