"""`redbench report`: the reference run's tables and equal-compute figure (redbench.benchmark.reference_report)."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import user_errors

FOLDER = click.Path(file_okay=False, path_type=Path)


@click.command("report")
@click.option("--models", type=FOLDER, default=Path("models"), show_default=True,
              help="The trained models: <method>/, seed<N>/<method>/ and ablations/<variant>-seed<N>/.")
@click.option("--results", type=FOLDER, default=Path("results"), show_default=True,
              help="The compare output holding metrics.json.")
@click.option("--results-seed", "seeds", type=(click.IntRange(0), FOLDER), multiple=True, metavar="SEED DIR",
              help="A compare output of RED and RED-static trained with SEED (repeatable).")
@click.option("--out", type=FOLDER, default=Path("report"), show_default=True,
              help="The report folder (replaced whole).")
@click.option("--control", type=FOLDER, default=None,
              help="The positive control's results (seed-<k>.json from `redbench control`); omitted: none.")
@click.option("--timings", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The run's stage timings (scripts/dvc_queues.py --timings) for the wall-time table.")
@click.option("--into", type=click.Path(dir_okay=False, exists=True, path_type=Path), multiple=True,
              help="Also rewrite the <!-- reference:NAME --> blocks of this Markdown file (repeatable).")
def report(models: Path, results: Path, seeds: tuple[tuple[int, Path], ...], out: Path,
           into: tuple[Path, ...], control: Path | None, timings: Path | None) -> None:
    """Write the reference run's convergence, ablation, leaderboard and paired tables and its equal-compute
    figure from the training logs and the compare results (synthetic data: the tables say so)."""
    from redbench._io import ForeignFilesError
    from redbench.benchmark.reference_report import write_report

    with user_errors(ValueError, ForeignFilesError):
        blocks = write_report(models, results, out, dict(seeds), into, control, timings)
    click.echo(f"wrote {out}: {', '.join(sorted(p.name for p in out.iterdir()))}"
               + (f"; blocks {', '.join(blocks)} into {', '.join(map(str, into))}" if into else ""))
