"""compare over training seeds: every seed store of every method scored on the frames compare scores, each
method's NME as a mean over its seeds with a hierarchical interval, and the reference method against each
other one by the paired hierarchical bootstrap with its TOST verdict (benchmark/hierarchical.py; the
layout of seed stores: benchmark/layout.py). Written to metrics.json's `seeds` of a dataset when a method
has more than one seed store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from redbench.benchmark.aggregate import percentile_interval
from redbench.benchmark.ground_truth import GroundTruth
from redbench.benchmark.hierarchical import (clip_identities, design, hierarchical_means, hierarchical_test,
                                             seed_factors, seed_sums)

METHOD_TEXT = ("paired hierarchical bootstrap: per resample, each method's training seeds drawn with replacement "
               "(their spread widened by sqrt(S/(S-1)) x t_df/z), the test identities drawn with replacement and "
               "each drawn identity's clips within it; equivalence by two one-sided tests at the margin")


def seed_nme(gt: GroundTruth, scores: Any, headline: dict[str, Path], stores: dict[str, dict[int, Path]],
             cfg: Any, score: Callable, error: type[Exception], progress: bool = False
             ) -> dict[str, dict[int, np.ndarray]]:
    """method -> seed -> per-frame headline NME (N,) on the frames of `scores` (compare.DatasetScores); the
    headline store's values are reused, every other store is scored alone and must cover exactly those
    frames under the same box protocol. score, error: compare's score_dataset and CompareError (passed in:
    compare imports this module)."""

    protocol = next(iter(scores.metas.values())).box_protocol
    out: dict[str, dict[int, np.ndarray]] = {}
    for m, seeds in stores.items():
        out[m] = {}
        for seed, path in seeds.items():
            if path == headline.get(m):
                out[m][seed] = scores.values[m]["nme"]
                continue
            got = score(gt, {m: path}, dataclasses.replace(cfg, intersect=False), progress)
            same = (np.array_equal(got.gt.clip_ids, scores.gt.clip_ids)
                    and np.array_equal(got.gt.frame_indices, scores.gt.frame_indices))
            if not same:
                raise error(f"{path}: covers other frames than the {m} store compare scores "
                                   f"({len(got.gt)} against {len(scores.gt)})")
            if got.metas[m].box_protocol != protocol:
                raise error(f"{path}: box protocol {got.metas[m].box_protocol!r}, the other stores' "
                                   f"is {protocol!r}")
            out[m][seed] = got.values[m]["nme"]
    return out


def _interval(samples: np.ndarray, value: float, ci: float) -> dict[str, Any]:
    lo, hi = percentile_interval(samples[:, None], ci)
    ok = hi[0] - lo[0] > 1e-9 * max(abs(lo[0]), abs(hi[0]))  # zero width reads as certainty: none
    return {"value": float(value), "ci": [float(lo[0]), float(hi[0])] if ok else [None, None]}


def summarise_seeds(nme: dict[str, dict[int, np.ndarray]], gt: GroundTruth, clip_codes: np.ndarray,
                    cfg: Any) -> dict[str, Any]:
    """metrics.json's `seeds` of one dataset: per method the per-seed NMEs and their mean with its
    hierarchical interval; the reference method against each other one (cfg: compare.CompareConfig)."""
    n_clips = int(clip_codes.max() + 1)
    d = design(clip_identities(clip_codes, gt.identity, n_clips))
    sums = {m: seed_sums(list(per_seed.values()), clip_codes, n_clips) for m, per_seed in nme.items()}
    boot = cfg.bootstrap
    factors = {m: seed_factors([x.pooled()], boot.ci)[0] for m, x in sums.items()}
    means = hierarchical_means(sums, d, boot, factors)
    methods = {}
    for m, x in sums.items():
        pooled, video = x.pooled(), x.video()
        methods[m] = {"seeds": list(nme[m]), "nme": [float(v) for v in pooled], "nme/video": [float(v) for v in video],
                      "mean": _interval(means[m]["pooled"], float(np.mean(pooled)), boot.ci),
                      "mean/video": _interval(means[m]["video"], float(np.mean(video)), boot.ci)}
    ref = cfg.reference_method if cfg.reference_method in sums else next(iter(sums))
    tests = []
    for m in sums:
        if m == ref:
            continue
        t = hierarchical_test(ref, m, sums[ref], sums[m], d, boot, cfg.equivalence_margin)
        tests.append({"metric": "nme", **{k: v for k, v in t["pooled"].as_dict().items() if k != "kind"},
                      "video": {k: v for k, v in t["video"].as_dict().items() if k in ("diff", "tost", "verdict")}})
    return {"method": METHOD_TEXT, "metric": "nme", "n_identities": d.n_identities, "n_clips": d.n_clips,
            "resamples": boot.resamples, "ci": boot.ci, "equivalence_margin": cfg.equivalence_margin,
            "reference_method": ref, "methods": methods, "tests": tests}
