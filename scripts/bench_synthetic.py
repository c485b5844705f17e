"""Generation speed of the synthetic datasets, in frames/s, against an I/O baseline measured in the same run.

    python scripts/bench_synthetic.py [--frames 200] [--default-set]

Prints render-only frames/s per difficulty category, write_dataset frames/s (render + MJPG + .pts + sidecar),
the baseline (MJPG-encoding the same number of ready frames: the floor any generator pays) and their ratio;
with --default-set also the wall time of the whole default set (params.yaml sizes) for 300vw, 300w and tf.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def _render_fps(cfg, category: int, n: int) -> float:
    from redbench.datasets.synthetic.generate import item_rng, make_identity
    from redbench.datasets.synthetic.scene import make_script, render_script

    rng = item_rng(cfg.seed, f"bench/{category}")
    script = make_script(rng, make_identity(cfg, "train", 0), category, n, cfg.fps,
                         (cfg.frame_width, cfg.frame_height), 80.0)
    t = time.perf_counter()
    for _ in render_script(script):
        pass
    return n / (time.perf_counter() - t)


def _encode_fps(cfg, n: int, folder: Path) -> float:
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (cfg.frame_height, cfg.frame_width, 3), np.uint8), (9, 9), 3)
              for _ in range(min(n, 50))]
    t = time.perf_counter()
    w = cv2.VideoWriter(str(folder / "base.avi"), cv2.VideoWriter_fourcc(*"MJPG"), cfg.fps,
                        (cfg.frame_width, cfg.frame_height))
    for i in range(n):
        w.write(frames[i % len(frames)])
    w.release()
    return n / (time.perf_counter() - t)


def main() -> None:
    from redbench.config import from_dict, load_params
    from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--default-set", action="store_true", help="also time the whole default set")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    cfg = from_dict(SyntheticConfig, load_params(args.params).get("synthetic"), "synthetic")
    print(f"frame {cfg.frame_width}x{cfg.frame_height}, {args.frames} frames per measurement")
    for c in (1, 2, 3):
        print(f"render only, category {c}: {_render_fps(cfg, c, args.frames):8.1f} frames/s")
    with tempfile.TemporaryDirectory() as tmp:
        base = _encode_fps(cfg, args.frames, Path(tmp))
        small = cfg.replace(vw_train_videos=2, vw_test_videos_per_category=1, vw_frames=args.frames // 5)
        n = (2 + 3) * small.vw_frames
        t = time.perf_counter()
        write_dataset("300vw", Path(tmp) / "300vw", small)
        full = n / (time.perf_counter() - t)
        print(f"write_dataset 300vw:         {full:8.1f} frames/s ({n} frames)")
        print(f"baseline MJPG encode only:   {base:8.1f} frames/s")
        print(f"ratio generate / encode-only time: {base / full:.1f}x")
        if args.default_set:
            total = 0.0
            for d in ("300vw", "300w", "tf"):
                t = time.perf_counter()
                write_dataset(d, Path(tmp) / "default" / d, cfg)
                dt = time.perf_counter() - t
                total += dt
                print(f"default set {d}: {dt:6.1f} s")
            print(f"default set total: {total:6.1f} s")


if __name__ == "__main__":
    main()
