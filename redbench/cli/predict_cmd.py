"""`redbench predict METHOD DATASET`: one method's predictions on every test frame of a shard set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, torch_kernels, user_errors

MODELS_DIR = Path("models")
SHARDS_DIR = Path("data/shards")
PREDICTIONS_DIR = Path("predictions")


class BoxProtocolOption(click.Option):
    """`--box PROTOCOL`, whose help lists the box protocols (imported only when the help is shown)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from redbench.methods.protocol import BOX_PROTOCOLS

        rest = self.help or ""
        self.help = f"Box protocol, one of {' | '.join(BOX_PROTOCOLS)}{'' if rest[:1] in ':,' else ' '}{rest}"
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = rest


@click.command("predict")
@click.argument("method")
@click.argument("dataset")
@click.option("--box", "box_protocol", default=None, metavar="PROTOCOL", cls=BoxProtocolOption,
              help=" [default: params predict.box_protocol].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prediction file [default: predictions/METHOD/DATASET.h5].")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=MODELS_DIR,
              show_default=True, help="Folder of <method>/ model folders.")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=SHARDS_DIR,
              show_default=True, help="Folder of <dataset>/manifest.json shard sets.")
@click.option("--force", is_flag=True,
              help="Write OUT even over a file that is not METHOD's prediction store (another method's, a shard).")
@click.pass_context
def predict(ctx: click.Context, method: str, dataset: str, box_protocol: str | None, out: Path | None,
            models_dir: Path, shards_dir: Path, force: bool) -> None:
    """Run METHOD on every test frame of DATASET's shards and write its prediction store."""
    from redbench import methods
    from redbench.benchmark.predict import PredictConfig, run_method
    from redbench.benchmark.store import refuse_overwrite
    from redbench.config import section
    from redbench.methods.protocol import BOX_PROTOCOLS

    params = params_of(ctx)
    out = out or PREDICTIONS_DIR / method / f"{dataset}.h5"
    with user_errors(ValueError, KeyError):
        cfg = section(params, "predict", PredictConfig)
        if box_protocol is not None:
            if box_protocol not in BOX_PROTOCOLS:
                raise click.ClickException(f"--box: must be one of {list(BOX_PROTOCOLS)}, got {box_protocol!r}")
            cfg = dataclasses.replace(cfg, box_protocol=box_protocol)
        box_protocol = cfg.box_protocol
        refuse_overwrite(out, method, [shards_dir / dataset, models_dir / method], force)
        prov = methods.provenance(method, params, models_dir)  # first: names a missing train_info.json
        with torch_kernels(params, method):
            runner = methods.create(method, params, models_dir)
            meta = run_method(runner, shards_dir / dataset, box_protocol, out, prov, progress=show_progress(ctx))
    click.echo(f"{method} on {dataset} ({box_protocol} boxes, {meta.data_source} data): "
               f"{1e3 * meta.seconds_per_frame:.2f} ms/frame -> {out}")
