"""The `redbench` command line: a click group of thin commands.

Each command parses its options, loads config into dataclasses and calls one library function. Heavy imports
(torch, h5py, cv2) happen inside command bodies so that `redbench --help` stays instant.
"""

from __future__ import annotations

import logging

import click

from redbench import __version__
from redbench.cli import (
    compare_cmd,
    fetch_cmd,
    inspect_cmd,
    methods_cmd,
    preprocess_cmd,
    synthetic_cmd,
    train_cmd,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redbench")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, warnings only.")
@click.option(
    "--params", "params_path", default=None, type=click.Path(dir_okay=False),
    help="The params file to read  [default: ./params.yaml when present; its sections override the packaged defaults].",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, params_path: str) -> None:
    """Reproduce RED and benchmark video vs static face alignment on matched frames."""
    level = logging.WARNING if quiet else (logging.INFO if verbose <= 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"quiet": quiet, "params_path": params_path}


for _command in (
    fetch_cmd.fetch,
    preprocess_cmd.preprocess,
    inspect_cmd.inspect,
    methods_cmd.methods,
    synthetic_cmd.preview,
    synthetic_cmd.synthetic_stats,
    train_cmd.train,
    train_cmd.predict,
    compare_cmd.compare,
    compare_cmd.check,
):
    main.add_command(_command)
