"""`redbench compare`: score every method's predictions on exactly the same frames and write the results.

For each dataset: load the test-shard ground truth, read one prediction file per method, refuse files that
disagree on the frame keys, box protocol, dataset, data source or test-shard manifest (or, with intersect,
score the common frames and report how many were dropped), compute every per-frame quantity, aggregate with
clip-bootstrap intervals, break down, run paired tests, then write metrics.json, summary.json, leaderboards
and plots.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from redbench._io import read_json, sha256_file, staged_dir
from redbench.benchmark.aggregate import BootstrapConfig, clip_sums, interval_method, paired_test, summarise
from redbench.benchmark.breakdowns import BreakdownConfig, breakdowns
from redbench.benchmark.flicker import flicker_frame_values
from redbench.benchmark.ground_truth import GroundTruth, load_ground_truth
from redbench.benchmark.lost_face import LostFaceConfig, lost_face
from redbench.benchmark.scoring import (ScoringConfig, clip_blocks, ground_truth_terms, method_frame_values,
                                        threshold_key)
from redbench.benchmark.store import PredictionMeta, read_keys, read_landmarks
from redbench.config import param
from redbench.datasets.table import synthetic_datasets
from redbench.methods.table import compared_methods

log = logging.getLogger(__name__)


class CompareError(ValueError):
    """Prediction files that cannot be compared fairly; the message lists what differs."""


@dataclass(frozen=True)
class CompareConfig:
    methods: tuple[str, ...] = field(default_factory=compared_methods)  # the default run's rows, table order
    datasets: tuple[str, ...] = field(default_factory=synthetic_datasets)  # those the default run generates
    predictions_dir: str = param("predictions", path=True)
    shards_dir: str = param("data/shards", path=True)
    out_dir: str = param("results", path=True)
    # `redbench previews` output linked from the HTML leaderboard where <previews_dir>/<dataset>/index.json exists
    previews_dir: str = param("previews", path=True)
    intersect: bool = False  # score only the frames every method covers (and report the drop)
    reference_method: str = "red"  # paired tests: this method (else the first one) against each other one
    ced_max: float = param(0.2, min=0, max=1, exclusive_min=True)  # CED curves are tabulated and plotted on [0, ced_max]
    ced_points: int = param(201, min=2, max=100_000)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    breakdown: BreakdownConfig = field(default_factory=BreakdownConfig)
    # threads scoring blocks of clips (0: one per usable core); the values do not depend on it
    threads: int = param(0, min=0, max=64)
    # processes drawing the figures (0: one per usable core); a figure's PNG bytes do not depend on it
    plot_processes: int = param(0, min=0, max=64)
    # `redbench check` tolerances: fnmatch pattern over summary keys -> {"abs": .., "rel": ..}; these
    # override the reference file's
    check_tolerances: dict[str, dict[str, float]] = field(default_factory=dict)
    # methods with several training seeds (benchmark/layout.py): the TOST margin of the verdict, NME units
    # (fractions of the normaliser: 0.01 = 1 NME point)
    equivalence_margin: float = param(0.01, min=0, exclusive_min=True)
    lost_face: LostFaceConfig = field(default_factory=LostFaceConfig)


@dataclass(frozen=True)
class DatasetScores:
    """Everything scored on one dataset, kept in memory for plots and tests."""

    gt: GroundTruth  # the scored frames only
    clip_codes: np.ndarray  # (N,)
    values: dict[str, dict[str, np.ndarray]]  # method -> quantity -> (N,)
    gt_jitter: np.ndarray  # (N,)
    metas: dict[str, PredictionMeta]
    files: dict[str, dict[str, str]]  # method -> {"path", "sha256"}
    coverage: dict[str, Any]


def _describe_keys(gt: GroundTruth, rows: np.ndarray, limit: int = 3) -> str:
    ex = ", ".join(f"{gt.clip_ids[r]}#{int(gt.frame_indices[r])}" for r in rows[:limit])
    return ex + (", ..." if len(rows) > limit else "")


def check_meta(metas: dict[str, PredictionMeta], gt: GroundTruth, files: dict[str, Path]) -> None:
    """Every file must hold the method it is scored as, and share the box protocol, dataset, data source and
    test manifest of the ground truth."""
    problems = [f"{files[m]} holds the predictions of method {meta.method!r}, but is scored as {m!r}"
                for m, meta in metas.items() if meta.method != m]
    legacy = [str(files[m]) for m, meta in metas.items() if meta.legacy]
    if legacy:
        log.warning("%s: %d prediction file(s) written before stores recorded their training seed (%s): their "
                    "seed is taken as params train.seed", gt.dataset, len(legacy), ", ".join(legacy))
    for name, want in (("box_protocol", None), ("dataset", gt.dataset), ("data_source", gt.data_source),
                       ("test_manifest_hash", gt.manifest_sha256)):
        got = {m: getattr(meta, name) for m, meta in metas.items()}
        if want is None:
            if len(set(got.values())) > 1:
                problems.append(f"{name} differs: " + ", ".join(f"{m}={v}" for m, v in got.items()))
            continue
        bad = {m: v for m, v in got.items() if v != want}
        if bad:
            problems.append(f"{name} should be {want!r} (the test shards'), but "
                            + ", ".join(f"{files[m]} has {v!r}" for m, v in bad.items()))
    if problems:
        raise CompareError(f"{gt.dataset}: prediction files cannot be compared:\n  " + "\n  ".join(problems))


def common_frames(keys: dict[str, tuple[np.ndarray, np.ndarray]], gt: GroundTruth, files: dict[str, Path],
                  intersect: bool) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, dict[str, Any]]:
    """GT rows of each method's keys ((rows (N_m,), found (N_m,) bool) per method) and the sorted GT rows to score.

    keys: method -> (clip_ids (N_m,), frame_indices (N_m,)).
    """
    rows = {m: gt.rows_of(ids, idx) for m, (ids, idx) in keys.items()}
    sets = {m: _sorted_rows(r[found]) for m, (r, found) in rows.items()}  # distinct: read_keys refuses duplicates
    first = next(iter(sets.values()))
    if all(np.array_equal(s, first) for s in sets.values()):  # the usual case: no set operations
        union = common = first
        lacking = {m: first[:0] for m in sets}
    else:
        union = np.unique(np.concatenate(list(sets.values())))
        common = union
        for s in sets.values():
            common = np.intersect1d(common, s, assume_unique=True)
        lacking = {m: np.setdiff1d(union, s, assume_unique=True) for m, s in sets.items()}
    problems = []
    for m, (r, found) in rows.items():
        unknown = np.flatnonzero(~found)
        if len(unknown):
            ids, idx = keys[m]
            ex = ", ".join(f"{ids[i]}#{int(idx[i])}" for i in unknown[:3])
            problems.append(f"{files[m]}: {len(unknown)} frame(s) not in the test shards (e.g. {ex})")
        missing = lacking[m]
        if len(missing):
            problems.append(f"{files[m]}: lacks {len(missing)} frame(s) other methods have "
                            f"(e.g. {_describe_keys(gt, missing)})")
    coverage = {
        "n_test_frames": len(gt),
        "n_scored_frames": int(len(common)),
        "intersect": intersect,
        "dropped_frames": int(len(union) - len(common)),
        # common is a subset of every file's distinct found rows: a file drops all its other rows
        "dropped_by_method": {m: int(len(r) - len(common)) for m, (r, _) in rows.items()},
    }
    if problems and not intersect:
        raise CompareError(f"{gt.dataset}: methods do not cover the same frames (use --intersect to score the "
                           "common frames only):\n  " + "\n  ".join(problems))
    if problems:
        log.warning("%s: --intersect: scoring %d common frames, dropped %d", gt.dataset, len(common),
                    coverage["dropped_frames"])
    if len(common) == 0:
        raise CompareError(f"{gt.dataset}: no frame is covered by every method")
    if len(common) < len(gt):
        log.warning("%s: scoring %d of %d test frames", gt.dataset, len(common), len(gt))
    return rows, common, coverage


def _sorted_rows(rows: np.ndarray) -> np.ndarray:
    """Distinct GT rows (read_keys refuses duplicate keys) in increasing order; files in GT order as they are."""
    return rows if np.all(rows[1:] > rows[:-1]) else np.sort(rows)


def align(landmarks: np.ndarray, rows: tuple[np.ndarray, np.ndarray], common: np.ndarray) -> np.ndarray:
    """A file's landmarks (its rows, 68, 2) in the order of `common` (sorted GT rows): (len(common), 68, 2);
    rows = (GT row, found) of each of the file's rows."""
    rows, found = rows
    if len(rows) == len(common) and np.array_equal(rows, common):  # the file is in GT order: no copy
        return landmarks  # every row found and finite: common_frames and read_landmarks checked
    pos = np.searchsorted(common, rows)
    keep = found & (pos < len(common)) & (common[np.minimum(pos, len(common) - 1)] == rows)
    out = np.full((len(common), 68, 2), np.nan)
    out[pos[keep]] = landmarks[keep]
    assert np.isfinite(out).all(), "every common frame has a prediction"
    return out


def score_dataset(gt: GroundTruth, files: dict[str, Path], cfg: CompareConfig, progress: bool = False) -> DatasetScores:
    """Read, check, align and score one dataset's prediction files (method -> path).

    Two passes keep memory at one method's landmarks: keys and metadata of every file first (to check
    them), then each file's landmarks in turn, reduced to per-frame values at once, block by block of clips
    in cfg.threads threads.
    """
    values = {}
    with _pool(cfg) as pool:
        # hashlib runs outside the GIL: the files are hashed in the threads while their keys are read here
        hashes = {m: pool.submit(sha256_file, p) for m, p in files.items()}
        heads = {m: read_keys(p) for m, p in files.items()}
        metas = {m: h[0] for m, h in heads.items()}
        check_meta(metas, gt, files)
        rows, common, coverage = common_frames({m: (h[1], h[2]) for m, h in heads.items()}, gt, files,
                                               cfg.intersect)
        scored = gt if len(common) == len(gt) else gt.take(common)  # common: sorted GT rows; all = every row
        codes, _ = scored.clip_codes()
        blocks = clip_blocks(codes)
        terms = ground_truth_terms(scored, cfg.scoring, codes, blocks, pool)  # the GT's, once for all methods
        buffer = None  # one array for every file's landmarks: fresh memory costs page faults each time
        for m, path in tqdm(files.items(), desc=f"score {gt.dataset}", disable=not progress):
            _, ids, idx = heads[m]
            buffer = read_landmarks(path, ids, idx, out=buffer)
            aligned = align(buffer, rows[m], common)  # (N, 68, 2)
            values[m] = method_frame_values(aligned, scored, cfg.scoring, codes, terms, blocks, pool)
            values[m].update(flicker_frame_values(aligned, scored.landmarks, codes, scored.frame_indices, blocks,
                                                  pool))
            del aligned
        del buffer
        sha256 = {m: h.result() for m, h in hashes.items()}
    return DatasetScores(
        gt=scored, clip_codes=codes, values=values, gt_jitter=terms["gt_jitter"],
        metas=metas, files={m: {"path": str(p), "sha256": sha256[m]} for m, p in files.items()},
        coverage=coverage,
    )


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _pool(cfg: CompareConfig) -> ThreadPoolExecutor:
    """cfg.threads threads, or one per usable core."""
    return ThreadPoolExecutor(cfg.threads or _usable_cores())


def summarise_dataset(scores: DatasetScores, cfg: CompareConfig, paired_tests: bool = True) -> dict[str, Any]:
    """The metrics.json entry of one dataset: headline metrics, variants, breakdowns and paired tests
    (paired_tests=False: without its "paired_tests", which `paired_tests_of` gives)."""
    methods = list(scores.values)
    first = next(iter(scores.values.values()))
    keys = [k for k in first if not k.startswith("group/") and k not in ("nme_visible", "nme_occluded")]
    columns = [scores.values[m][k] for m in methods for k in keys] + [scores.gt_jitter]
    sums = clip_sums(columns, scores.clip_codes)  # column by column: no (N, K) copy
    t0 = threshold_key(cfg.scoring.thresholds[0])
    group_keys = ["nme", f"auc@{t0}", f"fr@{t0}"]
    with _pool(cfg) as pool:  # the headline bootstrap beside the breakdown groups' (NumPy frees the GIL)
        headline = pool.submit(summarise, sums, cfg.bootstrap)
        by_group = breakdowns(scores.values, scores.gt, scores.clip_codes, group_keys, cfg.breakdown,
                              cfg.bootstrap, pool)
        out = headline.result()
    per_method: dict[str, Any] = {}
    for i, m in enumerate(methods):
        metrics = {}
        for j, k in enumerate(keys):
            c = i * len(keys) + j
            metrics[k] = out["pooled"][c].as_dict()
            metrics[f"{k}/video"] = out["video"][c].as_dict()
        meta = scores.metas[m]
        per_method[m] = {"metrics": metrics, "seconds_per_frame": meta.seconds_per_frame,
                         "prediction": {**scores.files[m], "method_version": meta.method_version,
                                        "config_hash": meta.config_hash, "train_data_hash": meta.train_data_hash,
                                        "train_flops": meta.train_flops, "train_seed": meta.train_seed}}
    first_meta = next(iter(scores.metas.values()))
    entry = {
        "data_source": scores.gt.data_source,
        "box_protocol": first_meta.box_protocol,
        "manifest_sha256": scores.gt.manifest_sha256,
        "n_frames": len(scores.gt),
        "n_clips": int(scores.clip_codes.max() + 1),
        "uncertainty": interval_method(sums, cfg.bootstrap),
        "coverage": scores.coverage,
        "methods": per_method,
        "ground_truth": {"jitter": out["pooled"][len(methods) * len(keys)].as_dict()},
        "breakdowns": by_group,
        "lost_face": lost_face(scores.values, scores.clip_codes, cfg.lost_face),
    }
    if paired_tests:
        entry["paired_tests"] = paired_tests_of(scores, cfg)
    return entry


def paired_tests_of(scores: DatasetScores, cfg: CompareConfig) -> list[dict[str, Any]]:
    """The paired tests of one dataset: the reference method against each other one, on NME and jitter."""
    # the configured reference method, else the first method compared (so the tests always run)
    ref = cfg.reference_method if cfg.reference_method in scores.values else next(iter(scores.values))
    out = []
    for metric in ("nme", "jitter"):
        ref_sums = clip_sums(scores.values[ref][metric], scores.clip_codes)
        if ref_sums.counts.sum() == 0:
            continue
        for m in scores.values:
            if m == ref:
                continue
            t = paired_test(ref, m, ref_sums, clip_sums(scores.values[m][metric], scores.clip_codes), cfg.bootstrap)
            out.append({"metric": metric, "a": t.a, "b": t.b, "n_clips": t.n_clips, "mean_a": t.mean_a,
                        "mean_b": t.mean_b, "diff": t.diff.as_dict(), "wilcoxon_p": t.wilcoxon_p})
    return out


def prediction_files(cfg: CompareConfig, dataset: str, train_seed: int | None = None,
                     partial: bool = False) -> tuple[dict[str, Path], dict[str, dict[int, Path]]]:
    """(method -> its headline store, method -> seed -> every seed store) of one dataset (benchmark/layout.py):
    predictions/<method>/<dataset>.h5, else the method's lowest seed-<k>/<dataset>.h5. Every method must
    have one, unless `partial` (a box protocol's folder: methods without stores are left out)."""
    from redbench.benchmark.layout import headline_store, seed_stores

    seeds = {m: seed_stores(cfg.predictions_dir, m, dataset, train_seed) for m in cfg.methods}
    files = {m: headline_store(cfg.predictions_dir, m, dataset, seeds[m]) for m in cfg.methods}
    missing = [str(Path(cfg.predictions_dir) / m / f"{dataset}.h5") for m, p in files.items() if p is None]
    if missing and not partial:
        raise CompareError(f"{dataset}: missing prediction file(s): {', '.join(missing)} "
                           "(run `redbench predict` or drop the method from compare.methods)")
    return {m: p for m, p in files.items() if p is not None}, {m: s for m, s in seeds.items() if s}


def run_compare(cfg: CompareConfig, progress: bool = False,
                ground_truth: Callable[[str], GroundTruth] | None = None, paired_tests: bool = True,
                train_seed: int | None = None, partial: bool = False
                ) -> tuple[dict[str, Any], dict[str, DatasetScores]]:
    """Score every dataset of cfg: (per-dataset metrics.json entries, in-memory scores for plots).

    ground_truth: dataset -> its test frames; default: the test shards under cfg.shards_dir.
    paired_tests: as in `summarise_dataset`. train_seed: the seed of the top-level stores (params
    train.seed). partial: as in `prediction_files`; a dataset without any store is left out.
    """
    from redbench.benchmark.seed_compare import seed_nme, summarise_seeds

    if not cfg.methods:
        raise CompareError("no methods to compare (params compare.methods or --method)")
    entries: dict[str, Any] = {}
    scores: dict[str, DatasetScores] = {}
    for ds in cfg.datasets:
        files, seeds = prediction_files(cfg, ds, train_seed, partial)
        if not files:
            continue
        t0 = time.perf_counter()
        gt = ground_truth(ds) if ground_truth else load_ground_truth(Path(cfg.shards_dir) / ds)
        t1 = time.perf_counter()
        scores[ds] = score_dataset(gt, files, cfg, progress)
        t2 = time.perf_counter()
        entries[ds] = summarise_dataset(scores[ds], cfg, paired_tests)
        if any(len(s) > 1 for s in seeds.values()):  # several training seeds: the hierarchical view
            nme = seed_nme(gt, scores[ds], files, seeds, cfg, score_dataset, CompareError, progress)
            entries[ds]["seeds"] = summarise_seeds(nme, scores[ds].gt, scores[ds].clip_codes, cfg)
        log.info("%s: %d frames x %d methods: ground truth %.2f s, scored %.2f s, summarised %.2f s", ds,
                 len(scores[ds].gt), len(files), t1 - t0, t2 - t1, time.perf_counter() - t2)
    return entries, scores


def compare_and_write(cfg: CompareConfig, params_hash: str, plots: bool = True,
                      progress: bool = False, train_seed: int | None = None,
                      ground_truth: Callable[[str], GroundTruth] | None = None) -> tuple[dict[str, Any], list[Path]]:
    """Run the comparison and write results/: metrics.json, summary.json, ced.csv, plots/, leaderboard.*;
    and the same files under results/box-<protocol>/ for every predictions/box-<protocol>/ folder of stores
    (benchmark/layout.py), whose NMEs the main leaderboard then shows side by side.

    The folder is written whole in a staging folder and swapped in, so a failed or killed compare leaves the
    previous complete results (or nothing); a results folder holding files compare did not write is refused
    (`owned_by_compare`). plots=False draws nothing and keeps the previous run's plots/ as they were.
    The figures need no paired test, so they are drawn (`compare.plot_processes`) while the paired tests run.
    ground_truth: as in `run_compare`. train_seed: params train.seed, taken for stores that do not record the
    seed their model was trained with (legacy stores).
    """
    from redbench.benchmark.layout import PROTOCOL_PREFIX, protocol_roots
    from redbench.methods.protocol import BOX_PROTOCOLS

    final = Path(cfg.out_dir)
    loaded: dict[str, GroundTruth] = {}

    def gt_of(ds: str) -> GroundTruth:  # once per dataset for every protocol
        if ds not in loaded:
            loaded[ds] = ground_truth(ds) if ground_truth else load_ground_truth(Path(cfg.shards_dir) / ds)
        return loaded[ds]

    with staged_dir(final, owned_by_compare(final), "compare") as out:
        by_protocol, written = {}, []
        for protocol, root in protocol_roots(cfg.predictions_dir, BOX_PROTOCOLS).items():
            name = f"{PROTOCOL_PREFIX}{protocol}"
            got = _write_results(dataclasses.replace(cfg, predictions_dir=str(root)), out / name, final / name,
                                 params_hash, plots, progress, train_seed, gt_of, partial=True, protocol=protocol)
            if got is not None:
                by_protocol[protocol], more = got
                written += more
        results, main = _write_results(cfg, out, final, params_hash, plots, progress, train_seed, gt_of,
                                       protocols=protocol_overview(by_protocol), also_written=written)
    return results, [final / p.relative_to(out) for p in main + written]


def protocol_overview(by_protocol: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """metrics.json's `protocols`: per other box protocol, where its results are and each method's NME."""
    from redbench.benchmark.layout import PROTOCOL_PREFIX

    return {p: {"results": f"{PROTOCOL_PREFIX}{p}/metrics.json",
                "datasets": {ds: {m: rec["metrics"]["nme"] for m, rec in e["methods"].items()}
                             for ds, e in res["datasets"].items()}}
            for p, res in by_protocol.items()}


def _write_results(cfg: CompareConfig, out: Path, final: Path, params_hash: str, plots: bool, progress: bool,
                   train_seed: int | None, ground_truth: Callable[[str], GroundTruth], partial: bool = False,
                   protocols: dict[str, Any] | None = None, protocol: str | None = None,
                   also_written: list[Path] = ()) -> tuple[dict[str, Any], list[Path]] | None:
    """Score and write one results folder `out` (staged; `final` is where it goes) and return its results and
    files (None, nothing written: partial and no store at all); protocol: the box protocol every store must have
    been predicted under (a box-<protocol> folder); also_written: files of sub-folders under `out`, listed in
    its metrics.json "outputs" too."""
    from redbench._io import write_json_atomic, write_text_atomic
    from redbench.benchmark.leaderboard import preview_links, write_leaderboards
    from redbench.benchmark.plots import FigureDrawing, ced_table, figure_jobs
    from redbench.benchmark.results import build_results, summary, validate

    entries, scores = run_compare(cfg, progress, ground_truth, paired_tests=False, train_seed=train_seed,
                                  partial=partial)
    if not entries:
        return None
    wrong = {ds: e["box_protocol"] for ds, e in entries.items() if protocol and e["box_protocol"] != protocol}
    if wrong:
        raise CompareError(f"{cfg.predictions_dir}: holds predictions made under another box protocol than "
                           f"{protocol!r}: " + ", ".join(f"{ds}: {p}" for ds, p in wrong.items()))
    out.mkdir(parents=True, exist_ok=True)
    ced = ced_table(scores, cfg.ced_max, cfg.ced_points)
    results = build_results(entries, cfg, params_hash, train_seed=trained_seed(scores, train_seed))
    if protocols:
        results["protocols"] = protocols
    jobs = figure_jobs(results, ced, out / "plots") if plots else []
    with FigureDrawing(jobs, cfg.plot_processes or _usable_cores()) as drawing:
        # the figure processes hold the results as they were at the fork: no figure reads a paired test
        for ds, entry in results["datasets"].items():
            entry["paired_tests"] = paired_tests_of(scores[ds], cfg)
        validate(results)
        write_json_atomic(out / "summary.json", summary(results))
        write_text_atomic(out / "ced.csv", ced.to_csv(index=False, float_format="%.6g"))
        figures = drawing.finish()
    kept = [] if plots else _keep_plots(final, out)
    written = [out / "summary.json", out / "ced.csv", *(p for p, _ in figures), *kept]
    previews = preview_links(cfg.previews_dir, list(results["datasets"]), final)
    written += write_leaderboards(results, out, figures, previews)
    # what this run wrote (and kept), so that the next run replaces exactly these files and no other
    results["outputs"] = sorted(["metrics.json", *(p.relative_to(out).as_posix() for p in [*written, *also_written])])
    write_json_atomic(out / "metrics.json", results)
    return results, [out / "metrics.json", *written]


def _keep_plots(final: Path, out: Path) -> list[Path]:
    """--no-plots: the previous run's plots/ (compare's own: staged_dir refused any other file), copied into
    the new folder unchanged, as no plot is drawn to replace them."""
    if not (final / "plots").is_dir():
        return []
    shutil.copytree(final / "plots", out / "plots")
    kept = sorted(p for p in (out / "plots").rglob("*") if p.is_file())
    if kept:
        log.warning("--no-plots: %s/plots/ keeps the %d figure(s) of the previous run (not redrawn)", final,
                    len(kept))
    return kept


def trained_seed(scores: dict[str, DatasetScores], params_seed: int | None) -> int | dict[str, int] | None:
    """The seed the compared models were trained with, from their stores (each from its train_info.json):
    one number when they agree, else {method: seed}; None when no compared model was trained here. A legacy
    store, which does not record it, counts as trained with `params_seed` (params train.seed)."""
    seeds: dict[str, int] = {}
    for ds in scores.values():
        for m, meta in ds.metas.items():
            seed = params_seed if meta.legacy else meta.train_seed
            if seed is not None:
                seeds[m] = int(seed)
    distinct = set(seeds.values())
    if len(distinct) > 1:
        return dict(sorted(seeds.items()))
    return distinct.pop() if distinct else None


def owned_by_compare(final: Path) -> Callable[[str], bool]:
    """Which files of an existing results folder compare wrote (and so may replace): those its metrics.json
    lists under "outputs"; for a folder written before compare listed them, the names compare writes
    (metrics.json, summary.json, ced.csv, leaderboard.{md,csv,tex,html}, plots/{ced,stability,breakdown}_*.png).
    Anything else (a leaderboard.xlsx, a plots/mine.png) makes compare refuse rather than delete it."""
    try:
        listed = read_json(final / "metrics.json", ValueError).get("outputs")
    except (OSError, ValueError, AttributeError):  # none, or not JSON, or not an object: no list
        listed = None
    if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
        names = set(listed) | {"metrics.json"}
        return names.__contains__
    return _LEGACY_OUTPUT.fullmatch


_LEGACY_OUTPUT = re.compile(r"metrics\.json|summary\.json|ced\.csv|leaderboard\.(md|csv|tex|html)"
                            r"|plots/(ced|stability|breakdown)_[^/]+\.png")
