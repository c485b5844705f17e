"""`redbench control`: the positive control for temporal gain (redbench.benchmark.positive_control)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from redbench.cli._common import params_of, torch_kernels, user_errors


@click.command("control")
@click.option("-m", "--method", "pairs", multiple=True, required=True, metavar="NAME=MODEL_DIR",
              help="A method of the table and its model folder (repeat); MODEL_DIR may be empty for pretrained.")
@click.option("--oracle", "oracle_name", required=True, help="The static method (one of -m) the oracle is built on.")
@click.option("--condition", type=click.Choice(["still_occluded", "still_noisy"]), multiple=True,
              default=("still_occluded", "still_noisy"), show_default=True)
@click.option("--dataset", default="300vw", show_default=True)
@click.option("--split", type=click.Choice(["validation", "test"]), default="validation", show_default=True,
              help="validation: the training shards' held-out people (params train.val_fraction, split seed 0).")
@click.option("--shards-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/shards"),
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the result JSON.")
@click.pass_context
def control(ctx: click.Context, pairs: tuple[str, ...], oracle_name: str, condition: tuple[str, ...], dataset: str,
            split: str, shards_dir: Path, out: Path | None) -> None:
    """NME (inter-ocular, 68 points) of each method and of the oracle on still clips where time helps."""
    from redbench._io import write_json_atomic
    from redbench.benchmark.positive_control import ControlConfig, run_control, source_frames
    from redbench.baselines.train_frames import validation_split
    from redbench.datasets.shards import load_manifest
    from redbench.methods import get_method, train_params
    from redbench.methods.factory import method_config

    params = params_of(ctx)
    with user_errors(ValueError, KeyError, FileNotFoundError):
        folders = {}
        for pair in pairs:
            name, sep, model_dir = pair.partition("=")
            if not sep:
                raise ValueError(f"-m {pair!r}: expected NAME=MODEL_DIR")
            folders[name] = Path(model_dir) if model_dir else None
        if oracle_name not in folders:
            raise ValueError(f"--oracle {oracle_name!r} is not one of the -m methods {sorted(folders)}")
        with torch_kernels(params, *folders):
            loaded = {}
            for name, folder in folders.items():
                spec = get_method(name)
                loaded[name] = spec.load_module().load(folder, method_config(spec, params))
            paths = load_manifest(shards_dir / dataset).paths("train" if split == "validation" else "test")
            identities = None
            if split == "validation":  # the people every learned method validates on (split seed 0)
                _, identities = validation_split(shards_dir / dataset, train_params(params).val_fraction)
            sources = source_frames(paths, identities)
            cfg = ControlConfig()
            result = {c: run_control(loaded, loaded[oracle_name], sources, c, cfg) for c in condition}
    for c, row in result.items():
        click.echo(f"{c} ({len(sources)} clips, {split}, synthetic unless real sets were fetched; NME inter-ocular, "
                   f"68 points, gt box): " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in row.items()))
    if out is not None:
        write_json_atomic(out, {"split": split, "dataset": dataset, "n_clips": len(sources),
                                "oracle_of": oracle_name, "config": dataclasses.asdict(cfg),
                                "nme_inter_ocular": result})
