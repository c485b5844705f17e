"""Helpers shared by CLI commands: params loading and turning library errors into clean exits."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

import click

from redbench.config import ConfigError, load_params


def params_of(ctx: click.Context) -> dict[str, Any]:
    try:
        return load_params(ctx.obj["params_path"])
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


def torch_kernels(params: dict[str, Any], *methods: str) -> contextlib.AbstractContextManager:
    """The CPU kernels (params torch.cpu_kernels) that the methods train and run with; nothing changes when none
    uses torch. Entered before the command computes anything (redbench/methods/kernels.py says why)."""
    from redbench.config import section
    from redbench.methods import get_method
    from redbench.methods.kernels import TorchParams, cpu_kernels

    if not any(get_method(m).uses_torch for m in methods):
        return contextlib.nullcontext()
    return cpu_kernels(section(params, "torch", TorchParams).cpu_kernels)


def show_progress(ctx: click.Context) -> bool:
    """Progress bars only on a terminal and without --quiet."""
    return not ctx.obj.get("quiet", False) and sys.stderr.isatty()


@contextlib.contextmanager
def user_errors(*types: type[BaseException]) -> Iterator[None]:
    """Report expected errors (bad input files, bad config) as one line and exit status 1."""
    try:
        yield
    except (ConfigError, FileNotFoundError, *types) as e:
        raise click.ClickException(str(e)) from None
