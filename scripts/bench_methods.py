"""Time per frame of every method, measured the same way for all.

Each method is loaded as `redbench predict` loads it (params.yaml, models/<method>/), then runs predict_clip on
the same test clips with their gt boxes (the static methods batched as in the predict driver; temporal ones
clip by clip): one warm-up clip, then the wall time over all frames. Methods take turns within each of
`--repeats` rounds and each keeps its best round, so a burst of load on a shared machine does not fall on one
method only. Ratios are against mean_shape measured in the same run. Prints a Markdown table; name the machine beside any number you quote.

    python scripts/bench_methods.py --frames 300 [--methods sdm,ert] [--tracking]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def _clips(shards: Path, n_frames: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards)
    out, total = [], 0
    for e in m.entries("test"):
        with m.open(e) as r:
            for i, rec in enumerate(r.clips):
                if total >= n_frames:
                    return out
                stop = min(rec.n_frames, n_frames - total)
                a = r.read_clip(i, 0, stop, fields=["crops", "boxes/gt"])
                out.append((a["crops"], a["boxes/gt"].astype(np.float64)))
                total += stop
    return out


def _time_once(method, clips, tracking: bool) -> float:
    n = sum(len(c) for c, _ in clips)
    t0 = time.perf_counter()
    for crops, boxes in clips:
        method.predict_clip(crops, boxes, tracking)
    return (time.perf_counter() - t0) / n


def main() -> int:
    from redbench.config import load_params
    from redbench.methods import create, method_table

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--models-dir", type=Path, default=Path("models"))
    ap.add_argument("--shards-dir", type=Path, default=Path("data/shards"))
    ap.add_argument("--dataset", default="300vw")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--methods", default="", help="comma-separated (default: every method in the table)")
    ap.add_argument("--tracking", action="store_true", help="time the tracking protocol (frame by frame)")
    args = ap.parse_args()

    import torch

    params = load_params(args.params)
    names = [n for n in args.methods.split(",") if n] or list(method_table())
    if "mean_shape" not in names:
        names.insert(0, "mean_shape")
    clips = _clips(args.shards_dir / args.dataset, args.frames)
    n = sum(len(c) for c, _ in clips)
    print(f"# time per frame: {n} test frames of {args.dataset}, gt boxes{' (tracking)' if args.tracking else ''}, "
          f"best of {args.repeats}; {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch threads {torch.get_num_threads()}\n")
    methods, best = {}, {}
    for name in names:
        try:
            methods[name] = create(name, params, args.models_dir)
            methods[name].predict_clip(*clips[0], args.tracking)  # warm-up (lazy init, caches, thread pools)
        except Exception as e:  # a method without a trained model is reported, not fatal
            best[name] = f"not loaded: {str(e).splitlines()[0][:80]}"
    for _ in range(args.repeats):
        for name, method in methods.items():
            best[name] = min(best.get(name, float("inf")), _time_once(method, clips, args.tracking))
    print("| method | ms / frame | frames / s | x mean_shape |\n|---|---:|---:|---:|")
    base = best.get("mean_shape") if isinstance(best.get("mean_shape"), float) else None
    for name in names:
        spf = best[name]
        if isinstance(spf, str):
            print(f"| {name} | {spf} | | |")
            continue
        ratio = f"{spf / base:.0f}" if base else "-"
        print(f"| {name} | {1e3 * spf:.3f} | {1 / spf:.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
