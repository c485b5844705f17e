"""`redbench verdict`: the verdict tables of a run with several training seeds, from its files."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import user_errors


@click.command("verdict")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="compare's output folder (metrics.json and its box-<protocol>/ folders).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder searched for trained models (train_info.json) for seeds.csv; omitted: no seeds.csv.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("report"),
              show_default=True, help="Where verdict.csv, verdict.md and seeds.csv are written.")
@click.option("--reference", default="red", show_default=True, help="Method A of every row.")
@click.option("--counterpart", default="red_static", show_default=True, help="The reference method without time.")
@click.option("--static", "static", multiple=True,
              help="Candidates for the best static method (repeatable) [default: the learned static methods].")
@click.option("-d", "--dataset", default="300vw", show_default=True)
def verdict(results_dir: Path, models_dir: Path | None, out_dir: Path, reference: str, counterpart: str,
            static: tuple[str, ...], dataset: str) -> None:
    """Write verdict.csv, verdict.md and seeds.csv from compare's results (several seeds per method)."""
    from redbench.benchmark.verdict import Comparisons, VerdictError, write_verdict

    cmp = Comparisons(reference, counterpart, static or Comparisons.static, dataset)
    with user_errors(VerdictError):
        written = write_verdict(results_dir, models_dir, out_dir, cmp)
    click.echo((out_dir / "verdict.md").read_text(encoding="utf-8"))
    click.echo("wrote " + ", ".join(str(p) for p in written))
