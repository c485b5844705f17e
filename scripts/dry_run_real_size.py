"""A real-size dry run: the synthetic 300-VW at the real set's size through fetch and preprocess; wall time and
peak memory of each stage, and what the rest of the pipeline would cost on the real 300-VW.

The synthetic generator's `scale` multiplies frames per video and video counts, which cap at 300-VW's real id
lists (50 training videos, 31/19/14 test videos of categories 1/2/3): scale 19.18 gives 114 videos of 1,918
frames, 218,652 frames (the real set: 114 videos, about 218,597 annotated frames). Frame size stays the
params' (256x192 on the default; real 300-VW videos are larger, so fetch and decode would cost more there).
Each stage runs as its own process (`redbench --params P fetch|preprocess 300vw`); its peak RSS comes from
wait4. Projections multiply per-frame costs measured elsewhere (given on the command line, with their source)
by the real set's frame counts.

    python scripts/dry_run_real_size.py WORK_DIR [--scale 19.18] [--workers 2] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml


def run_stage(argv: list[str], log_path: Path) -> dict:
    """Run one stage in a child process; its wall seconds, peak RSS (MiB) and exit status."""
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return {"argv": argv[1:], "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024),
            "user_s": round(usage.ru_utime, 1), "sys_s": round(usage.ru_stime, 1),
            "exit_status": os.waitstatus_to_exitcode(status)}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def real_size_params(base: Path, scale: float, workers: int) -> dict:
    params = yaml.safe_load(base.read_text())
    params["synthetic"]["scale"] = scale
    params["preprocess"]["workers"] = workers
    return params


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", type=Path, help="an empty folder with room for the raw videos and the shards")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"), help="the base params (sizes x scale)")
    ap.add_argument("--scale", type=float, default=19.18)
    ap.add_argument("--workers", type=int, default=2, help="preprocess worker processes")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if any(args.work.iterdir()):
        ap.error(f"{args.work} is not empty")
    params_path = args.work / "params.yaml"
    params_path.write_text(yaml.safe_dump(real_size_params(args.params, args.scale, args.workers), sort_keys=False))
    redbench = str(Path(sys.executable).with_name("redbench"))
    raw, shards = args.work / "raw" / "300vw", args.work / "shards" / "300vw"
    out: dict = {"scale": args.scale, "workers": args.workers, "cores": os.cpu_count(), "stages": {}}
    for name, argv in (("fetch", [redbench, "-q", "--params", str(params_path), "fetch", "300vw", "--out", str(raw)]),
                       ("preprocess", [redbench, "-q", "--params", str(params_path), "preprocess", "300vw",
                                       "--raw-dir", str(raw), "--out", str(shards)])):
        r = run_stage(argv, args.work / f"{name}.log")
        out["stages"][name] = r
        print(f"{name}: {r['wall_s']} s wall, peak RSS {r['peak_rss_mib']} MiB, exit {r['exit_status']}", flush=True)
        if r["exit_status"] != 0:
            print((args.work / f"{name}.log").read_text()[-2000:], file=sys.stderr)
            return 1
    manifest = json.loads((shards / "manifest.json").read_text())
    frames = sum(s["n_frames"] for s in manifest["shards"])
    out["frames"] = frames
    out["videos"] = sum(1 for d in raw.iterdir() if (d / "vid.avi").is_file())
    out["raw_bytes"], out["shard_bytes"] = dir_bytes(raw), dir_bytes(shards)
    for name in ("fetch", "preprocess"):
        out["stages"][name]["frames_per_s"] = round(frames / out["stages"][name]["wall_s"], 1)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
