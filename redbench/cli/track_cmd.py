"""`redbench track VIDEO -m METHOD`: any method on a video or a folder of frames that has no annotations."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, torch_kernels, user_errors

MODELS_DIR = Path("models")


@click.command("track")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-m", "--method", required=True, help="A method of `redbench methods` (trained ones from --models-dir).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder, written whole [default: tracks/VIDEO_NAME/METHOD].")
@click.option("--box", type=float, nargs=4, default=None, metavar="X0 Y0 X1 Y1",
              help="The face's box on frame 0 (0-based pixel edges) instead of the detector's first face.")
@click.option("--boxes", type=click.Choice(["tracking", "detector"]), default="tracking", show_default=True,
              help="Later boxes from the method's own previous output (tracking, with re-detection when lost) "
                   "or from the detector on every frame.")
@click.option("--check-every", type=click.IntRange(min=0), default=10, show_default=True,
              help="Tracking: run the detector every N frames to see whether the face is still tracked (0: never).")
@click.option("--face-px", type=click.FloatRange(min=8), default=None,
              help="Resample the video so the first face is this many px (never enlarged) [default: params "
                   "preprocess crop_size / context_scale, the face size the methods were trained on].")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Frame rate of a frame folder (and of the overlay) [default: the video's, 25 for a folder].")
@click.option("--overlay", type=click.Choice(["avi", "mp4"]), default="avi", show_default=True,
              help="Overlay video: MJPG .avi or mp4v .mp4.")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=MODELS_DIR,
              show_default=True, help="Folder of <method>/ model folders.")
@click.pass_context
def track(ctx: click.Context, video: Path, method: str, out: Path | None, box: tuple[float, ...] | None, boxes: str,
          check_every: int, face_px: float | None, fps: float | None, overlay: str, models_dir: Path) -> None:
    """Run METHOD on every frame of VIDEO (a video file or a folder of frame images) and write per-frame
    landmarks (300-VW annot/ .pts and a CSV), an overlay video and a stability summary."""
    import numpy as np

    from redbench import methods
    from redbench._io import ForeignFilesError, staged_dir
    from redbench.benchmark.track import TrackConfig, track_video
    from redbench.benchmark.track_outputs import owned_by_track, write_track_folder
    from redbench.config import section
    from redbench.datasets.preprocess import PreprocessConfig
    from redbench.datasets.video import VideoError, open_video

    params = params_of(ctx)
    progress = show_progress(ctx)
    with user_errors(ValueError, KeyError, VideoError, ForeignFilesError, OSError):
        if box is not None and not (box[2] > box[0] and box[3] > box[1]):
            raise click.BadParameter("x1 must exceed x0 and y1 must exceed y0", param_hint="--box")
        pre = section(params, "preprocess", PreprocessConfig)  # the face size and box rule the methods saw
        cfg = TrackConfig(boxes=boxes, face_px=face_px or pre.face_px, gt_box_scale=pre.boxes.gt_box_scale,
                          check_every=check_every)
        prov = methods.provenance(method, params, models_dir)  # first: names a missing train_info.json
        source = open_video(video, fps)
        out = out or Path("tracks") / source.name / method
        with torch_kernels(params, method):
            runner = methods.create(method, params, models_dir)
            result = track_video(runner, source, cfg, None if box is None else np.array(box), progress)
        with staged_dir(out, owned_by_track, "track") as stage:
            summary = write_track_folder(stage, result, source, cfg, method, prov, overlay, progress)
    jit = summary["jitter"]
    jitter = f"jitter {100 * jit['mean']:.2f} % of its inter-ocular distance" if jit["mean"] is not None else "no jitter"
    click.echo(f"{method} on {video}: face in {summary['tracked_frames']} of {summary['frames']} frames "
               f"({cfg.boxes} boxes), {len(summary['redetected_at'])} re-detection(s), {jitter} -> {out}")
