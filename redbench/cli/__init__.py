"""The `redbench` command line: a click group of thin commands.

Each command parses its options, loads config into dataclasses and calls one library function. Heavy imports
(torch, h5py, cv2) happen inside command bodies so that `redbench --help` stays instant. A command's module is
imported only when that command runs (or help lists it), so a DVC stage depends on its own command's code
only (tests/test_dependencies.py).
"""

from __future__ import annotations

import importlib
import logging

import click

from redbench import __version__

# command name -> "module:attribute" under redbench.cli (one line per command)
COMMANDS = {
    "fetch": "fetch_cmd:fetch",
    "preprocess": "preprocess_cmd:preprocess",
    "inspect": "inspect_cmd:inspect",
    "methods": "methods_cmd:methods",
    "preview": "synthetic_cmd:preview",
    "synthetic-stats": "synthetic_cmd:synthetic_stats",
    "train": "train_cmd:train",
    "predict": "predict_cmd:predict",
    "compare": "compare_cmd:compare",
    "check": "compare_cmd:check",
    "import": "import_cmd:import_",
    "report": "report_cmd:report",
    "pipeline": "pipeline_cmd:pipeline",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(c for c in super().list_commands(ctx) if c not in COMMANDS)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attr = COMMANDS[name].split(":")
        command = getattr(importlib.import_module(f"redbench.cli.{module}"), attr)
        assert command.name == name, (command.name, name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redbench")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, warnings only.")
@click.option(
    "--params", "params_path", default=None, type=click.Path(dir_okay=False),
    help="The params file to read  [default: ./params.yaml when present; what it leaves out takes the defaults].",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, params_path: str) -> None:
    """Reproduce RED and benchmark video vs static face alignment on matched frames."""
    level = logging.WARNING if quiet else (logging.INFO if verbose <= 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"quiet": quiet, "params_path": params_path}

