"""results/metrics.json: the documented schema (docs/metrics.md), its provenance block, and the flat summary.

Bump SCHEMA_VERSION when the file's layout changes, PROTOCOL_VERSION when a metric's definition changes
(normaliser, pooling, thresholds' meaning, bootstrap method): numbers of different protocol versions are
not comparable.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import subprocess
from pathlib import Path
from typing import Any

from redbench import __version__
from redbench._io import read_json
from redbench.metrics import NORM_LABELS
from redbench.benchmark.flicker import flicker_layout
from redbench.benchmark.stability import FHR_KEYS, fhr_layout

SCHEMA_VERSION = 1
PROTOCOL_VERSION = 1
SUMMARY_KEYS = ("nme", "nme/video", "nme_clean", "motion", "jitter", *FHR_KEYS)  # + auc@a, fr@a of every threshold


class ResultsError(ValueError):
    """A metrics.json that does not follow the schema; the message names the file and the field."""


# What "-dirty" looks at: the code (the package's folders and pyproject.toml), not the pipeline's own records,
# which `dvc repro` rewrites while it runs (dvc.lock, results/): a run of committed code records a clean commit.
CODE_PATHS = ("redbench", "datasets", "red", "baselines", "benchmark", "pyproject.toml")


def git_commit(cwd: str | os.PathLike = ".") -> str:
    """HEAD's commit with "-dirty" when the code differs from it, or "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *(f":(top){p}" for p in CODE_PATHS)],
                               cwd=cwd, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def definitions(scoring: Any) -> dict[str, dict[str, Any]]:
    """What every metric key means: normaliser, point set, threshold, pooling."""
    norm, pts = scoring.norm, scoring.points
    base = {"normaliser": norm, "normaliser_text": NORM_LABELS[norm], "points": pts}
    d: dict[str, dict[str, Any]] = {
        "nme": {**base, "text": "normalised mean error per frame, mean over frames (frame-pooled)"},
        "nme_clean": {**base, "text": "nme over the frames not marked unreliable"},
        "motion": {**base, "text": "error of the frame-to-frame motion vs the GT motion, normalised like nme"},
        "jitter": {**base, "text": "|second difference| of the predicted track, normalised like nme"},
        "nme_visible": {**base, "points": 68, "text": "nme over the points not covered by an occluder"},
        "nme_occluded": {**base, "points": 68, "text": "nme over the points covered by an occluder"},
    }
    fhr = {"normaliser": "fhr_face_size", "normaliser_text": "max(width, height) of the GT shape / 100", "points": 68,
           "pooling": "per video, then averaged over videos (FHR's); <key>/pooled: frame-pooled"}
    d["fhr_rmse"] = {**fhr, "text": "FHR e2: RMS over points of |p - g| / w_t"}
    d["fhr_delay"] = {**fhr, "normaliser": None, "normaliser_text": "none (frames)",
                      "text": "FHR e1 time delay: <p_t - g_t, g_{t-1} - g_t> / |g_{t-1} - g_t|^2 (whole shape), "
                              "in frames; frames whose GT does not move are left out"}
    d["fhr_sta1"] = {**fhr, "text": "FHR e3: RMS over points of (p_t - (p_{t-1} + p_{t+1}) / 2) / w_t"}
    d["fhr_sta2"] = {**fhr, "text": "FHR e4: RMS over points of the distance of p_t from the segment "
                                    "p_{t-1} -> p_{t+1} (whole-shape projection q clipped to [0, 1]) / w_t"}
    d["nmf"] = {"normaliser": "ldeq_face_scale", "normaliser_text": "sqrt(x-range * y-range of the GT points / 256^2)",
                "points": 68, "text": "LDEQ's flicker (NMF): RMS over points of 100 |(g - p)_t - (g - p)_{t-1}| / s_t, "
                                      "then RMS over frames (nmf/video: RMS over clips of each clip's)"}
    for t in scoring.thresholds:
        d[f"auc@{t:g}"] = {**base, "threshold": t, "text": f"area under the CED on [0, {t:g}] / {t:g} (exact)"}
        d[f"fr@{t:g}"] = {**base, "threshold": t, "text": f"fraction of frames with nme > {t:g}"}
    for n in scoring.variant_norms:
        for p in scoring.variant_points:
            d[f"nme[{n},{p}]"] = {"normaliser": n, "normaliser_text": NORM_LABELS[n], "points": p,
                                   "text": "nme with this normaliser and point set"}
    d["*/video"] = {"text": "video-averaged: the mean over clips of each clip's mean (every clip weighs the same)"}
    return d


def build_results(entries: dict[str, Any], cfg: Any, params_hash: str,
                  cwd: str | os.PathLike | None = None, train_seed: int | dict[str, int] | None = None
                  ) -> dict[str, Any]:
    """The whole metrics.json object around the per-dataset entries of compare.run_compare.

    git_commit is that of the checkout holding the running redbench code (cwd defaults to the package's
    folder), not of the folder the pipeline runs in.
    """
    import redbench

    cwd = Path(redbench.__file__).resolve().parent if cwd is None else cwd
    entries = {ds: {**e, "methods": {m: {**rec, "metrics": flicker_layout(fhr_layout(rec["metrics"]))}
                                     for m, rec in e["methods"].items()}}
               for ds, e in entries.items()}
    return {
        "schema_version": SCHEMA_VERSION,
        "protocol_version": PROTOCOL_VERSION,
        "redbench_version": __version__,
        "git_commit": git_commit(cwd),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "params_hash": params_hash,
        # train: the compared models' training seed (compare.trained_seed: one number, or {method: seed})
        "seeds": {"bootstrap": cfg.bootstrap.seed, "train": train_seed},
        "config": dataclasses.asdict(cfg),
        "definitions": definitions(cfg.scoring),
        "uncertainty": {"method": "none: no bootstrap (resamples 0)" if cfg.bootstrap.resamples == 0 else
                                  "percentile bootstrap over whole clips; below min_clips clips a moving-block "
                                  "bootstrap of frames within each clip (block_length beside each such "
                                  "interval); a zero-width interval is reported as none",
                        "resamples": cfg.bootstrap.resamples, "ci": cfg.bootstrap.ci,
                        "min_clips": cfg.bootstrap.min_clips},
        "datasets": entries,
    }


def summary(results: dict[str, Any]) -> dict[str, float | None]:
    """Flat headline numbers for dvc: "<source>/<dataset>/<method>/<metric>" and
    "<source>/<dataset>/<subset>/<method>/nme", source = synthetic | real, so that synthetic numbers can
    never be read (or diffed) as real ones."""
    out: dict[str, float | None] = {}
    for ds, entry in results["datasets"].items():
        src = entry["data_source"]
        for m, rec in entry["methods"].items():
            for k, v in rec["metrics"].items():
                if k in SUMMARY_KEYS or (k.startswith(("auc@", "fr@")) and "/" not in k):
                    out[f"{src}/{ds}/{m}/{k}"] = v["value"]
        for label, grp in entry["breakdowns"].get("subset", {}).get("groups", {}).items():
            if label == ds:
                continue
            for m, rec in grp["methods"].items():
                out[f"{src}/{ds}/{label}/{m}/nme"] = rec["nme"]["value"]
    return out


_REQUIRED = ("schema_version", "protocol_version", "redbench_version", "git_commit", "params_hash", "seeds",
             "config", "definitions", "datasets")
_REQUIRED_DATASET = ("data_source", "box_protocol", "manifest_sha256", "n_frames", "n_clips", "coverage",
                     "methods", "breakdowns", "paired_tests")


def validate(results: Any, where: str = "metrics.json") -> dict[str, Any]:
    """Check the layout of a metrics.json object; raise ResultsError naming the first bad field."""
    if not isinstance(results, dict):
        raise ResultsError(f"{where}: expected a JSON object")
    missing = [k for k in _REQUIRED if k not in results]
    if missing:
        raise ResultsError(f"{where}: missing field(s) {missing}")
    if results["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(f"{where}: schema_version {results['schema_version']}, this redbench reads {SCHEMA_VERSION}")
    _require(results, "datasets", dict, where)
    _require(results, "config", dict, where)
    for ds, entry in results["datasets"].items():
        if not isinstance(entry, dict):
            raise ResultsError(f"{where}: datasets.{ds}: expected an object, got {type(entry).__name__}")
        miss = [k for k in _REQUIRED_DATASET if k not in entry]
        if miss:
            raise ResultsError(f"{where}: datasets.{ds}: missing field(s) {miss}")
        _require(entry, "methods", dict, f"{where}: datasets.{ds}")
        _require(entry, "breakdowns", dict, f"{where}: datasets.{ds}")
        _check_subsets(entry["breakdowns"].get("subset", {}), f"{where}: datasets.{ds}.breakdowns.subset")
        if entry["data_source"] not in ("synthetic", "real"):
            raise ResultsError(f"{where}: datasets.{ds}.data_source must be synthetic or real, "
                               f"got {entry['data_source']!r}")
        for m, rec in entry["methods"].items():
            if not isinstance(rec, dict) or not isinstance(rec.get("metrics", {}), dict):
                raise ResultsError(f"{where}: datasets.{ds}.methods.{m}: expected an object with a metrics object")
            for k, v in rec.get("metrics", {}).items():
                if not (isinstance(v, dict) and "value" in v and "ci" in v and len(v["ci"]) == 2):
                    raise ResultsError(f"{where}: datasets.{ds}.methods.{m}.metrics.{k}: "
                                       "expected {value, ci: [lo, hi]}")
    return results


def _check_subsets(subset: Any, where: str) -> None:
    """The part of a subset breakdown that `summary` reads: {groups: {label: {methods: {m: {nme: {value}}}}}}."""
    groups = subset.get("groups", {}) if isinstance(subset, dict) else None
    ok = isinstance(groups, dict) and all(
        isinstance(g, dict) and isinstance(g.get("methods", {}), dict)
        and all(isinstance(r, dict) and isinstance(r.get("nme"), dict) and "value" in r["nme"]
                for r in g.get("methods", {}).values())
        for g in groups.values())
    if not ok:
        raise ResultsError(f"{where}: expected {{groups: {{label: {{methods: {{method: {{nme: {{value}}}}}}}}}}}}")


def _require(obj: dict[str, Any], key: str, kind: type, where: str) -> None:
    if not isinstance(obj[key], kind):
        raise ResultsError(f"{where}.{key}: expected {'an object' if kind is dict else kind.__name__}, got "
                           f"{type(obj[key]).__name__}")


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    obj = read_json(path, ResultsError, "metrics file not found (run `redbench compare`)")
    return validate(obj, str(path))
