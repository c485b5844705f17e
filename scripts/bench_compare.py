"""Benchmark `redbench compare` at scale: N frames x M methods x B bootstrap resamples; time and peak memory.

Fabricates a 300-VW-like ground truth (clips of --clip-len frames, categories, identities, pose,
occlusion, unreliable frames) and M prediction files, then times the stages of a comparison. The baseline,
measured in the same run, is the naive bootstrap (a Python loop that rebuilds each resample's frames and
recomputes the means); the report gives the vectorised bootstrap's speed-up as a ratio.

    python scripts/bench_compare.py                      # 100k frames x 6 methods x 1000 resamples
    python scripts/bench_compare.py --frames 20000 --resamples 200
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from redbench.benchmark.aggregate import BootstrapConfig, bootstrap, clip_sums
from redbench.benchmark.compare import CompareConfig, compare_and_write, score_dataset
from redbench.benchmark.ground_truth import GroundTruth, make_ground_truth
from redbench.benchmark.store import PredictionMeta, write_predictions


def fabricate_gt(n_frames: int, clip_len: int, rng: np.random.Generator) -> GroundTruth:
    n_clips = -(-n_frames // clip_len)
    clip = np.repeat(np.arange(n_clips), clip_len)[:n_frames]
    frame = np.tile(np.arange(clip_len), n_clips)[:n_frames]
    ids = np.array([f"300vw/{c:05d}" for c in range(n_clips)])[clip]
    base = rng.uniform(-1, 1, (68, 2)) * 40 + 100
    base[36], base[45] = [70, 80], [130, 80]
    drift = np.cumsum(rng.normal(0, 0.5, (n_frames, 1, 2)), axis=0)
    lm = base + drift + rng.normal(0, 0.3, (n_frames, 68, 2))
    yaw = np.repeat(rng.uniform(-80, 80, n_clips), clip_len)[:n_frames] + rng.normal(0, 3, n_frames)
    pose = np.stack([yaw, np.zeros(n_frames), np.zeros(n_frames)], 1)
    pose[rng.random(n_frames) < 0.1] = np.nan
    return make_ground_truth(
        "300vw", "synthetic", "bench-manifest", ids, frame, lm, pose=pose, pose_pnp=np.nan_to_num(pose),
        occluded=rng.random((n_frames, 68)) < rng.uniform(0, 0.2, (n_frames, 1)), occlusion_known=np.ones(n_frames, bool),
        unreliable=rng.random(n_frames) < 0.02, subset=np.array(["category1", "category2", "category3"])[clip % 3],
        identity=np.array([f"id{c % 50:02d}" for c in range(n_clips)])[clip],
    )


def naive_bootstrap(values: np.ndarray, codes: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The loop the vectorised bootstrap replaces: rebuild each resample's frames, recompute the mean."""
    rng = np.random.default_rng(seed)
    n_clips = codes.max() + 1
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_clips + 1))
    per_clip = [values[order[starts[c]:starts[c + 1]]] for c in range(n_clips)]
    out = np.empty((resamples,) + values.shape[1:])
    for b in range(resamples):
        draw = rng.integers(0, n_clips, n_clips)
        with warnings.catch_warnings():  # quantities no drawn frame defines (stability of stills): NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            out[b] = np.nanmean(np.concatenate([per_clip[c] for c in draw]), axis=0)
    return out


class _PhaseLog(logging.Handler):
    """Collects compare's own timing lines (scored / summarised / plots)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if " s" in msg and ("scored" in msg or "plots" in msg):
            self.lines.append(msg)


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the figure processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--methods", type=int, default=6)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--clip-len", type=int, default=100)
    ap.add_argument("--naive-resamples", type=int, default=10, help="baseline resamples (timed, then scaled)")
    ap.add_argument("--threads", type=int, default=0, help="compare.threads (0: one per usable core)")
    ap.add_argument("--plot-processes", type=int, default=0, help="compare.plot_processes (0: one per usable core)")
    ap.add_argument("--keep", type=Path, default=None, help="write the outputs here instead of a temp folder")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        t = time.perf_counter()
        gt = fabricate_gt(args.frames, args.clip_len, rng)
        files = {}
        for k in range(args.methods):
            name = f"method{k}"
            meta = PredictionMeta(name, "1", "c", "t", "gt", "300vw", "synthetic", gt.manifest_sha256, 0.001)
            files[name] = root / "predictions" / name / "300vw.h5"
            write_predictions(files[name], meta, gt.clip_ids, gt.frame_indices,
                              gt.landmarks + rng.normal(0, 1 + k, gt.landmarks.shape))
        print(f"setup: {args.frames} frames in {len(np.unique(gt.clip_ids))} clips x {args.methods} methods "
              f"written in {time.perf_counter() - t:.1f} s")
        cfg = CompareConfig(methods=tuple(files), reference_method="method0", out_dir=str(root / "results"),
                            predictions_dir=str(root / "predictions"),
                            bootstrap=BootstrapConfig(resamples=args.resamples, seed=0), threads=args.threads,
                            plot_processes=args.plot_processes)
        rss_before = _max_rss_mib()
        phases = _PhaseLog()
        logging.getLogger("redbench").addHandler(phases)
        logging.getLogger("redbench").setLevel(logging.INFO)
        # what `redbench compare` runs, with the fabricated ground truth in place of the test shards' (whose
        # loading is not timed); wall and CPU seconds of this process and its figure processes
        t0, c0 = time.perf_counter(), _cpu_seconds()
        compare_and_write(cfg, "bench", ground_truth=lambda ds: gt)
        t1, c1 = time.perf_counter(), _cpu_seconds()
        logging.getLogger("redbench").removeHandler(phases)
        for line in phases.lines:
            print(f"  {line}")
        print(f"total compare (scoring, aggregation, metrics.json, CED table, figures, leaderboards): "
              f"{t1 - t0:6.2f} s wall, {c1 - c0:6.2f} s CPU (load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores)")
        print(f"process max RSS: {rss_before:.0f} MiB after setup (GT + fabrication), {_max_rss_mib():.0f} MiB "
              "after compare")

        scores = score_dataset(gt, files, cfg)  # again, untimed: the per-frame columns for the bootstrap ratio
        # baseline vs vectorised on the same work: the headline columns of every method (pooled means)
        cols = np.stack([v[k] for v in scores.values.values() for k in v if not k.startswith("group/")], axis=1)
        tn = time.perf_counter()
        naive_bootstrap(cols, scores.clip_codes, args.naive_resamples, 0)
        naive_s = (time.perf_counter() - tn) * args.resamples / args.naive_resamples
        tv = time.perf_counter()
        bootstrap(clip_sums(cols, scores.clip_codes), BootstrapConfig(resamples=args.resamples))
        vec_s = time.perf_counter() - tv
        print(f"bootstrap of {cols.shape[1]} metric columns over {cols.shape[0]} frames, {args.resamples} resamples: "
              f"naive loop {naive_s:.1f} s (timed on {args.naive_resamples} resamples, scaled), vectorised "
              f"{vec_s:.2f} s (pooled + video-averaged): {naive_s / vec_s:.0f}x faster")
    sys.exit(0)


if __name__ == "__main__":
    main()
