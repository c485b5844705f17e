"""`redbench track` on the synthetic 300-VW test videos, scored afterwards against their annotations (which
track never reads): how well each method follows a face from the detector's first box on its own.

    python scripts/track_synthetic.py -m sdm -m heatmap -m red [--raw data/raw/300vw] [--models models]
        [--boxes tracking] [--videos 410 411 ...]

Prints one markdown row per method: frames with a face (a video where the detector never finds the face has
none), NME (inter-ocular, 68 points, mean over those frames,
pooled over videos), the jitter of the track and of the ground truth on the same frames (second difference /
inter-ocular distance, as `track` reports it), frames lost, re-detections and the method's ms a frame (predict_clip's own time). The data
are the synthetic default's (docs/synthetic.md), not 300-VW's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    from redbench import methods
    from redbench.benchmark.metrics import jitter, nme
    from redbench.benchmark.track import TrackConfig, track_video
    from redbench.benchmark.track_outputs import track_jitter
    from redbench.config import load_params, section
    from redbench.datasets.preprocess import PreprocessConfig
    from redbench.datasets.raw import read_landmarks
    from redbench.datasets.splits import VW300_CATEGORIES
    from redbench.datasets.video import VideoError, open_video

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--method", dest="methods", action="append", required=True)
    ap.add_argument("--raw", type=Path, default=Path("data/raw/300vw"))
    ap.add_argument("--models", type=Path, default=Path("models"))
    ap.add_argument("--boxes", default="tracking", choices=("tracking", "detector"))
    ap.add_argument("--videos", nargs="*", default=None, help="video ids [default: every test video present]")
    args = ap.parse_args()
    params = load_params()
    pre = section(params, "preprocess", PreprocessConfig)
    cfg = TrackConfig(boxes=args.boxes, face_px=pre.face_px, gt_box_scale=pre.boxes.gt_box_scale)
    test_ids = [v for ids in VW300_CATEGORIES.values() for v in ids]
    videos = args.videos or [v for v in test_ids if (args.raw / v / "vid.avi").is_file()]
    print(f"{len(videos)} synthetic 300-VW test videos, {args.boxes} boxes, first box from dlib's HOG detector")
    print("| method | frames with a face | NME % | track jitter % | GT jitter % | frames lost | re-detections | "
          "videos without a face found | ms/frame |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.methods:
        method = methods.create(name, params, args.models)
        errors, jit, gt_jit, lost, redet, seconds, tracked, total, missed = [], [], [], 0, 0, 0.0, 0, 0, 0
        for v in videos:
            source = open_video(args.raw / v / "vid.avi")
            gt = np.stack([read_landmarks(p) for p in sorted((args.raw / v / "annot").glob("*.pts"))])
            try:
                result = track_video(method, source, cfg)
            except VideoError:  # the detector never finds the face: no frame is tracked
                missed += 1
                total += source.n_frames
                continue
            seconds += result.seconds
            ok = result.tracked
            errors.append(nme(result.landmarks[ok], gt[ok], "inter_ocular"))
            jit.append(track_jitter(result))
            for seg in result.segments:
                if seg.stop - seg.start >= 3:
                    gt_jit.append(jitter(gt[seg.start:seg.stop], gt[seg.start:seg.stop], "inter_ocular"))
            first = result.segments[0].start if result.segments else len(ok)
            lost += int((~ok[first:]).sum())
            redet += sum(s.reason == "redetected" for s in result.segments)
            tracked += int(ok.sum())
            total += len(ok)
        e, j, g = np.concatenate(errors), np.concatenate(jit), np.concatenate(gt_jit)
        print(f"| {name} | {tracked} / {total} | {100 * e.mean():.2f} | {100 * j.mean():.2f} | {100 * g.mean():.2f} | "
              f"{lost} | {redet} | {missed} | {1e3 * seconds / max(tracked, 1):.1f} |", flush=True)


if __name__ == "__main__":
    main()
