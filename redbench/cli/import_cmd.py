"""`redbench import FORMAT SOURCE --dataset D --method NAME`: predictions made elsewhere into the store."""

from __future__ import annotations

import re
from pathlib import Path

import click

from redbench.cli._common import params_of, user_errors
from redbench.cli.predict_cmd import BoxProtocolOption  # predict's --box, also import's

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
MAX_NAME = 100  # a folder name: file systems take 255 bytes


@click.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["pts", "csv", "fhr"]))
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-d", "--dataset", required=True, help="Dataset whose test shards the predictions are for.")
@click.option("-m", "--method", required=True, help="Name of the imported method (its row in the leaderboard).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prediction file [default: <params compare.predictions_dir>/METHOD/DATASET.h5].")
@click.option("--shards", "shards_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of <dataset>/manifest.json [default: params compare.shards_dir].")
@click.option("--box", "box_protocol", default=None, metavar="PROTOCOL", cls=BoxProtocolOption,
              help=": the one the predictions were made under, stated for the fair-comparison check "
                   "[default: params predict.box_protocol].")
@click.option("--intersect", is_flag=True, help="Drop frames the test shards do not have instead of refusing.")
@click.option("--fhr-box-scale", type=click.FloatRange(min=0, min_open=True), default=1.3, show_default=True,
              help="fhr: the crop's side / max(w, h) of the GT landmark box.")
@click.option("--fhr-units", type=click.FloatRange(min=0, min_open=True), default=256.0, show_default=True,
              help="fhr: the crop's width in the .mat coordinates.")
@click.option("--force", is_flag=True,
              help="Write OUT even over a file that is not METHOD's prediction store (another method's, a shard, "
                   "the source).")
@click.pass_context
def import_(ctx: click.Context, fmt: str, source: Path, dataset: str, method: str, out: Path | None,
            shards_dir: Path | None, box_protocol: str | None, intersect: bool, fhr_box_scale: float,
            fhr_units: float, force: bool) -> None:
    """Import predictions made elsewhere (FORMAT: pts | csv | fhr) for `redbench compare -m METHOD`.

    pts: a folder NNN/annot/000001.pts (300-VW layout); csv: clip_id,frame_index,x0,y0,...,x67,y67 with
    0-based coordinates; fhr: FHR's released per-video .mat results (a file or a folder searched
    recursively). Formats and conventions: docs/metrics.md, "Importing predictions".
    """
    from redbench.benchmark.ground_truth import GroundTruthError
    from redbench.benchmark.importers import PredictionImportError, import_predictions
    from redbench.benchmark.store import StoreError
    from redbench.config import section
    from redbench.datasets.shards import ShardError
    from redbench.methods import BOX_PROTOCOLS, method_table

    params = params_of(ctx)
    compare = params.get("compare") or {}
    if not _NAME.match(method) or len(method) > MAX_NAME:
        raise click.BadParameter(f"{method[:40]!r}{'...' if len(method) > 40 else ''}: letters, digits and _ . + - "
                                 f"only, at most {MAX_NAME} characters", param_hint="--method")
    if method in method_table():
        raise click.BadParameter(f"{method!r} is one of redbench's own methods; its predictions would be "
                                 "overwritten", param_hint="--method")
    if box_protocol is None:
        from redbench.benchmark.predict import PredictConfig

        with user_errors(ValueError):
            box_protocol = section(params, "predict", PredictConfig).box_protocol
    if box_protocol not in BOX_PROTOCOLS:
        raise click.BadParameter(f"{box_protocol!r}; known: {', '.join(BOX_PROTOCOLS)}", param_hint="--box")
    shards_dir = shards_dir or Path(compare.get("shards_dir", "data/shards"))
    out = out or Path(compare.get("predictions_dir", "predictions")) / method / f"{dataset}.h5"
    with user_errors(PredictionImportError, StoreError, ShardError, GroundTruthError, ValueError):
        prov = import_predictions(fmt, source, shards_dir / dataset, method, out, box_protocol, intersect,
                                  fhr_box_scale, fhr_units, force)
    cov = prov["coverage"]
    click.echo(f"{method} on {dataset} ({prov['data_source']} data, {box_protocol} boxes): imported "
               f"{cov['imported_frames']} of {cov['source_frames']} source frames -> {out}")
    if cov["dropped_unknown_frames"]:
        click.echo(f"  --intersect dropped {cov['dropped_unknown_frames']} frame(s) not in the test shards")
    if cov["test_frames_without_prediction"]:
        click.echo(f"  {cov['test_frames_without_prediction']} of {cov['test_frames']} test frames have no "
                   "prediction: compare this method with --intersect")
