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
    "control": "control_cmd:control",
    "report": "report_cmd:report",
    "verdict": "verdict_cmd:verdict",
    "real-faces": "real_faces_cmd:real_faces",
    "pipeline": "pipeline_cmd:pipeline",
    "track": "track_cmd:track",
    "render": "render_cmd:render",
    "previews": "render_cmd:previews",
    "curves": "curves_cmd:curves",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, and the one error boundary of every command.

    An expected failure (a bad input file, a full disk, a folder that cannot be written, a number too large)
    ends as one line `Error: ...` naming the file or key, exit status 1; anything else as one line naming the
    exception. `redbench --debug CMD` shows the traceback instead.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if (ctx.obj or {}).get("debug"):
                raise
            raise click.ClickException(describe_error(e)) from None

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
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of its one-line message.")
@click.option(
    "--params", "params_path", default=None, type=click.Path(dir_okay=False),
    help="The params file to read  [default: ./params.yaml when present; what it leaves out takes the defaults].",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool, params_path: str) -> None:
    """Reproduce RED and benchmark video vs static face alignment on matched frames."""
    level = logging.WARNING if quiet else (logging.INFO if verbose <= 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"quiet": quiet, "params_path": params_path, "debug": debug}


def describe_error(e: Exception) -> str:
    """One line for an exception that ends a command: the library's own message, which names the file or key;
    an OS error with its file(s); anything unexpected with its type and a pointer to --debug."""
    import errno
    import os

    if isinstance(e, OSError) and (e.filename is not None or e.errno):
        files = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
        what = os.strerror(e.errno) if e.errno else e.strerror or str(e)  # h5py's strerror runs to lines
        if isinstance(e, FileExistsError) and e.filename is not None and os.path.isfile(e.filename):
            what = "is a file, where a folder is needed"
        if e.errno == errno.ENOSPC:
            what += " (free some space and run again; the outputs are written whole or not at all)"
        return f"{files}: {what}" if files else what
    if (isinstance(e, (ValueError, OSError)) or type(e).__module__.startswith("redbench.")) and str(e):
        return str(e)  # redbench's own errors (ValueErrors mostly) name their input
    if isinstance(e, MemoryError):
        return "out of memory (a size in the params or input too large?); run with --debug for the traceback"
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return f"{type(e).__name__}: {text} (unexpected; run `redbench --debug ...` for the traceback)"
