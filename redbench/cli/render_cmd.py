"""`redbench render` (one test clip as a video, methods side by side with the ground truth and their NME trace)
and `redbench previews` (GIFs of the worst and median clip, linked from the HTML leaderboard)."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import user_errors

PICKS = ("worst", "median")  # redbench.benchmark.render.PICKS (not imported: --help stays light)

_methods = click.option("-m", "--method", "methods", multiple=True, required=True,
                        help="A method whose prediction store to draw (repeatable; one panel each).")
_predictions = click.option("--predictions-dir", type=click.Path(file_okay=False, path_type=Path),
                            default=Path("predictions"), show_default=True, help="Folder of <method>/<dataset>.h5.")
_shards = click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/shards"),
                       show_default=True, help="Folder of <dataset>/manifest.json shard sets.")


def _errors():
    from redbench._io import ForeignFilesError
    from redbench.benchmark.ground_truth import GroundTruthError
    from redbench.benchmark.render import RenderError
    from redbench.benchmark.store import StoreError
    from redbench.datasets.shards import ShardError

    return user_errors(RenderError, StoreError, ShardError, GroundTruthError, ForeignFilesError, ValueError, OSError)


@click.command("render")
@click.argument("dataset")
@_methods
@click.option("--clip", "clip_id", default=None, help="The test clip's id, e.g. 300vw/410.")
@click.option("--pick", type=click.Choice(PICKS), default=None,
              help="Instead of --clip: the worst or median clip of --by by its clip mean NME.")
@click.option("--by", default=None, help="The method --pick ranks clips by [default: the first -m].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output .avi (MJPG), .mp4 (mp4v) or .gif [default: renders/DATASET/CLIP.avi].")
@click.option("--zoom", type=click.IntRange(1, 8), default=2, show_default=True, help="Output pixels per crop pixel.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True, help="Draw every Nth frame.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=25.0, show_default=True)
@_predictions
@_shards
def render(dataset: str, methods: tuple[str, ...], clip_id: str | None, pick: str | None, by: str | None,
           out: Path | None, zoom: int, stride: int, fps: float, predictions_dir: Path, shards_dir: Path) -> None:
    """Render one test clip of DATASET: each METHOD's landmarks in its own panel with the ground truth, and
    the per-frame NME of every method under them."""
    from redbench.benchmark.render import clip_mean_nmes, pick_clip, prediction_path, render_clip

    if (clip_id is None) == (pick is None):
        raise click.UsageError("give exactly one of --clip and --pick")
    with _errors():
        if pick is not None:
            by = by or methods[0]
            means = clip_mean_nmes(shards_dir / dataset, prediction_path(predictions_dir, by, dataset))
            clip_id = pick_clip(means, pick)
            click.echo(f"{pick} clip of {by}: {clip_id} (clip mean NME {100 * means[clip_id]:.2f} %, inter-ocular, "
                       "68 points)")
        out = out or Path("renders") / dataset / f"{clip_id.replace('/', '_')}.avi"
        n = render_clip(shards_dir / dataset, clip_id, [prediction_path(predictions_dir, m, dataset) for m in methods],
                        out, fps, zoom, stride)
    click.echo(f"{clip_id}: {n} frames of {', '.join(methods)} -> {out}")


@click.command("previews")
@click.argument("dataset")
@_methods
@click.option("--by", default=None, help="The method whose worst and median clips are shown [default: the first -m].")
@click.option("--pick", "picks", type=click.Choice(PICKS), multiple=True, help="Which clips [default: both].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("previews"),
              show_default=True, help="Writes OUT/DATASET/<pick>.gif and index.json (compare links them).")
@click.option("--zoom", type=click.IntRange(1, 8), default=1, show_default=True)
@click.option("--stride", type=click.IntRange(min=1), default=2, show_default=True, help="Keep every Nth frame.")
@_predictions
@_shards
def previews(dataset: str, methods: tuple[str, ...], by: str | None, picks: tuple[str, ...], out_dir: Path, zoom: int,
             stride: int, predictions_dir: Path, shards_dir: Path) -> None:
    """GIF previews of DATASET's worst and median test clip (of --by), every METHOD beside the ground truth."""
    from redbench.benchmark.previews import write_previews

    with _errors():
        index = write_previews(shards_dir, predictions_dir, dataset, methods, by, picks or PICKS, out_dir, zoom, stride)
    for p in index["previews"]:
        click.echo(f"{p['pick']}: {p['clip']} ({p['frames']} frames) -> {out_dir / dataset / p['file']}")
