"""Benchmarks of the shard pipeline; every figure is a ratio against a baseline measured in the same run.

    python scripts/bench_shards.py RAW_300VW_DIR [--videos 8] [--sections compression,preprocess,loader,memory]

- compression: the same crops written with none / lzf / gzip-1: bytes, sequential and random 8-frame window
  read speed, and whether two writes give identical bytes.
- preprocess: preprocess frames/s with 1 and 2 worker processes, with the detector on every frame and with the
  default detector_splits, vs decode-only frames/s (RawVideo.frames()) of the same videos, interleaved
  repeats, and whether both worker counts wrote the same bytes.
- loader: ClipDataset (T=8, batch 16, 2 workers) frames/s, counting the consumer's uint8 -> float conversion
  (finish_images), vs raw h5py slicing of the same windows' bytes, in one process and through the same
  DataLoader set-up (2 workers, batch 16); 3 interleaved rounds of 1,024 windows, median ratio and range.
- memory: peak RSS of preprocess (a fresh process each) on synthetic 300-VW at two sizes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _videos(raw: Path, n: int) -> list:
    from redbench.datasets.raw import iter_raw_videos

    return list(iter_raw_videos("300vw", raw))[:n]


def bench_preprocess(raw: Path, n: int, work: Path, repeats: int = 3) -> dict:
    """Preprocess frames/s of the first n videos (training videos of the 300-VW split) for 1 and 2 workers, with
    the detector on every frame (its boxes for every split: what the detector box protocol on these frames
    costs) and with the default `detector_splits` (the test split only: these videos skip the detector)."""
    from redbench.datasets.boxes import BoxConfig
    from redbench.datasets.preprocess import PreprocessConfig, preprocess_videos

    videos = _videos(raw, n)
    runs = {f"{d}_workers_{w}": (splits, w) for d, splits in (("detector_all", ("train", "test")),
                                                              ("default", BoxConfig().detector_splits))
            for w in (1, 2)}
    fps: dict[str, list[float]] = {"decode": [], **{k: [] for k in runs}}
    digests = {}
    for _ in range(repeats):  # interleaved: on a shared machine each figure is a ratio within the run
        t0 = time.perf_counter()
        frames = sum(1 for v in videos for _ in v.frames())
        fps["decode"].append(frames / (time.perf_counter() - t0))
        for name, (splits, w) in runs.items():
            t0 = time.perf_counter()
            out = work / ("pre" if name == "detector_all_workers_2" else f"pre-{name}")
            cfg = PreprocessConfig(workers=w, boxes=BoxConfig(detector_splits=splits))  # uncompressed default
            summary = preprocess_videos(videos, "300vw", out, cfg)
            fps[name].append(frames / (time.perf_counter() - t0))
            digests[name] = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir())
    best = {k: max(v) for k, v in fps.items()}
    med = {k: float(np.median(v)) for k, v in fps.items()}
    return {"frames": frames, "repeats": repeats, "fps_best": {k: round(v, 1) for k, v in best.items()},
            "ratio_preprocess_to_decode_best": {k: round(best[k] / best["decode"], 3) for k in runs},
            "ratio_preprocess_to_decode_median": {k: round(med[k] / med["decode"], 3) for k in runs},
            "workers_byte_identical": {d: digests[f"{d}_workers_1"] == digests[f"{d}_workers_2"]
                                       for d in ("detector_all", "default")},
            "summary": summary}


def _rewrite(src: Path, dst: Path, compression: str) -> Path:
    """Copy every clip of shard set `src` into `dst` with another compression (same crops, same layout)."""
    from redbench.datasets.shard_writer import ShardFormat, ShardSetWriter
    from redbench.datasets.shards import load_manifest

    m = load_manifest(src)
    with ShardSetWriter(dst, m.dataset, m.data_source, ShardFormat(m.crop_size, compression)) as w:
        for e in m.shards:
            with m.open(e, verify=False) as r:
                for i, rec in enumerate(r.clips):
                    w.write_clip(rec, [r.read_clip(i)])
        w.finish(m.identities, {})
    return dst


def _windows(paths: list[Path], t: int, n: int, seed: int = 0) -> list[tuple[int, int, int]]:
    from redbench.datasets.shards import ShardReader

    clips = []
    for pi, p in enumerate(paths):
        with ShardReader(p) as r:
            clips += [(pi, ci, c.n_frames) for ci, c in enumerate(r.clips) if c.n_frames >= t]
    rng = np.random.default_rng(seed)
    picks = [clips[k] for k in rng.integers(0, len(clips), n)]
    return [(pi, ci, int(rng.integers(0, nf - t + 1))) for pi, ci, nf in picks]


def _raw_h5py_fps(paths: list[Path], windows: list, t: int, fields: list[str]) -> float:
    """Plain h5py slicing of the same windows and fields the loader reads (offsets from the clip table)."""
    import h5py

    files = [h5py.File(p, "r") for p in paths]
    offsets = [f["clips/offset"][()] for f in files]
    t0 = time.perf_counter()
    for pi, ci, start in windows:
        lo = int(offsets[pi][ci]) + start
        for name in fields:
            files[pi][name][lo:lo + t]
    fps = len(windows) * t / (time.perf_counter() - t0)
    for f in files:
        f.close()
    return fps


def _whole_clips_fps(paths: list[Path]) -> float:
    """Evaluation's pattern: every clip's crops, whole, in order."""
    from redbench.datasets.shards import ShardReader

    n, t0 = 0, time.perf_counter()
    for p in paths:
        with ShardReader(p) as r:
            for i in range(len(r.clips)):
                n += len(r.read_clip(i, fields=["crops"])["crops"])
    return n / (time.perf_counter() - t0)


def bench_compression(src: Path, work: Path) -> dict:
    from redbench.datasets.shards import load_manifest

    out = {}
    for comp in ("none", "lzf", "gzip"):
        a = _rewrite(src, work / f"c-{comp}-a", comp)
        b = _rewrite(src, work / f"c-{comp}-b", comp)
        paths = load_manifest(a).paths("train") + load_manifest(a).paths("test")
        same = [hashlib.sha256(p.read_bytes()).digest() for p in paths] == \
               [hashlib.sha256((b / p.name).read_bytes()).digest() for p in paths]
        n_frames = sum(s.n_frames for s in load_manifest(a).shards)
        windows = _windows(paths, 8, 400)
        random_fps = _raw_h5py_fps(paths, windows, 8, ["crops"])
        seq_fps = _whole_clips_fps(paths)
        out[comp] = {"MB": round(sum(p.stat().st_size for p in paths) / 2**20, 2), "frames": n_frames,
                     "whole_clip_read_fps": round(seq_fps), "random_T8_window_read_fps": round(random_fps),
                     "rewrite_byte_identical": same}
    return out


class _RawWindows:
    """A torch-style dataset of plain h5py slices (no crop, no conversion): the I/O part of a sample."""

    def __init__(self, paths: list[Path], windows: list, t: int, fields: list[str]):
        self.paths, self.windows, self.t, self.fields, self._files = paths, windows, t, fields, None

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict:
        import h5py

        if self._files is None:  # opened lazily, once per worker
            self._files = [h5py.File(p, "r") for p in self.paths]
            self._offsets = [f["clips/offset"][()] for f in self._files]
        pi, ci, start = self.windows[i]
        lo = int(self._offsets[pi][ci]) + start
        return {name: self._files[pi][name][lo:lo + self.t] for name in self.fields}


def bench_loader(src: Path, rounds: int = 3) -> dict:
    import torch

    from redbench.datasets.loaders import ClipDataset, finish_images
    from redbench.datasets.shards import load_manifest

    paths = load_manifest(src).paths("train")
    ds = ClipDataset(paths, clip_len=8, input_size=128, box="gt", train=True, seed=0)
    n_items = 1024  # 64 batches a pass: a pass of 16 batches (0.3 s) swung by 40 % between runs
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=n_items,
                                             generator=torch.Generator().manual_seed(0))
    fields = ["crops", "landmarks", "crop_to_orig", "occluded", "frame_index", "boxes/gt"]
    windows = _windows(paths, 8, n_items)
    # Persistent workers, each loader warmed by one untimed pass: worker start-up and first file opens are not
    # the steady state. Idle persistent workers wait without using a core.
    dl = torch.utils.data.DataLoader(ds, batch_size=16, num_workers=2, sampler=sampler, persistent_workers=True)
    raw_dl = torch.utils.data.DataLoader(_RawWindows(paths, windows, 8, fields), batch_size=16, num_workers=2,
                                         persistent_workers=True)
    _raw_h5py_fps(paths, windows, 8, fields)  # warm the page cache for both
    for loader in (dl, raw_dl):
        for _ in loader:
            pass

    def frames_per_s(loader, frames_of) -> float:
        t0 = time.perf_counter()
        n = sum(frames_of(b) for b in loader)
        return n / (time.perf_counter() - t0)

    fps: dict[str, list[float]] = {"loader": [], "raw": [], "raw_dl": []}
    for _ in range(rounds):  # interleaved: each ratio is within one round
        # the consumer's float conversion (finish_images) is the loader's work too: timed with the batches
        fps["loader"].append(frames_per_s(dl, lambda b: finish_images(b["image"], b.get("colour")).shape[:2].numel()))
        fps["raw"].append(_raw_h5py_fps(paths, windows, 8, fields))
        fps["raw_dl"].append(frames_per_s(raw_dl, lambda b: len(b["crops"]) * 8))
    del dl, raw_dl
    to_raw = [a / b for a, b in zip(fps["loader"], fps["raw"])]
    to_raw_dl = [a / b for a, b in zip(fps["loader"], fps["raw_dl"])]
    # Where the loader's time goes: one process, one thread, reading only vs the whole sample.
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    for i in range(64):
        s = ds[i % len(ds)]
        finish_images(s["image"], s.get("colour"))  # the sample as a model takes it
    sample_ms = (time.perf_counter() - t0) / 64 * 1000
    med = {k: float(np.median(v)) for k, v in fps.items()}
    return {"rounds": rounds, "loader_fps_T8_b16_w2": round(med["loader"]), "raw_h5py_fps": round(med["raw"]),
            "ratio_loader_to_raw": round(float(np.median(to_raw)), 3),
            "ratio_loader_to_raw_range": [round(min(to_raw), 3), round(max(to_raw), 3)],
            "raw_h5py_same_dataloader_fps": round(med["raw_dl"]),
            "ratio_loader_to_raw_same_dataloader": round(float(np.median(to_raw_dl)), 3),
            "ratio_loader_to_raw_same_dataloader_range": [round(min(to_raw_dl), 3), round(max(to_raw_dl), 3)],
            "one_sample_ms_single_thread": round(sample_ms, 2),
            "raw_read_of_one_window_ms": round(8 / med["raw"] * 1000, 2)}


_CHILD = """
import resource, sys
from redbench.datasets.preprocess import PreprocessConfig, preprocess
s = preprocess("300vw", sys.argv[1], sys.argv[2], PreprocessConfig())
print(s["frames"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(work: Path) -> dict:
    from redbench.datasets.synthetic.config import SyntheticConfig
    from redbench.datasets.synthetic.generate import write_dataset

    out = {}
    for label, frames, videos in (("small", 40, 1), ("large", 320, 3)):
        raw = work / f"mem-{label}"
        cfg = SyntheticConfig.micro(vw_frames=frames, vw_train_videos=videos, vw_test_videos_per_category=videos,
                                    frame_width=256, frame_height=192, face_height_min=60, face_height_max=110)
        write_dataset("300vw", raw, cfg)
        res = subprocess.run([sys.executable, "-c", _CHILD, str(raw), str(work / f"mem-{label}-out")],
                             capture_output=True, text=True, check=True)
        n, rss_kb = res.stdout.split()[-2:]
        out[label] = {"frames": int(n), "peak_rss_MB": round(int(rss_kb) / 1024, 1)}
    out["ratio_large_to_small_rss"] = round(out["large"]["peak_rss_MB"] / out["small"]["peak_rss_MB"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("raw", type=Path, help="a 300-VW raw folder (e.g. the synthetic default)")
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--sections", default="preprocess,compression,loader,memory")
    args = ap.parse_args()
    sections = args.sections.split(",")
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["preprocess"] = bench_preprocess(args.raw, args.videos, work)
        print(json.dumps({"preprocess": results["preprocess"]}, indent=1), flush=True)
        if "compression" in sections:
            results["compression"] = bench_compression(work / "pre", work)
            print(json.dumps({"compression": results["compression"]}, indent=1), flush=True)
        if "loader" in sections:
            results["loader"] = bench_loader(work / "pre")
            print(json.dumps({"loader": results["loader"]}, indent=1), flush=True)
        if "memory" in sections:
            results["memory"] = bench_memory(work)
            print(json.dumps({"memory": results["memory"]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
