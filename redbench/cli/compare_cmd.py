"""`redbench compare` and `redbench check`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, user_errors


@click.command("compare")
@click.option("-m", "--method", "methods", multiple=True,
              help="Method to compare (repeatable; default: params compare.methods).")
@click.option("-d", "--dataset", "datasets", multiple=True,
              help="Dataset (repeatable; default: params compare.datasets).")
@click.option("--intersect", is_flag=True, default=None,
              help="Score only the frames every method covers, and report how many were dropped.")
@click.option("--predictions", "predictions_dir", type=click.Path(file_okay=False),
              help="Folder of <method>/<dataset>.h5.")
@click.option("--shards", "shards_dir", type=click.Path(file_okay=False),
              help="Folder of <dataset>/manifest.json.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder (default: params compare.out_dir).")
@click.option("--previews", "previews_dir", type=click.Path(file_okay=False),
              help="Folder of `redbench previews` output to link from the HTML page (default: params compare.previews_dir).")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), help="Bootstrap resamples (0: no intervals).")
@click.option("--no-plots", is_flag=True,
              help="Skip the PNG plots (the HTML page then has none; an earlier run's plots/ is kept as it was).")
@click.pass_context
def compare(ctx: click.Context, methods: tuple[str, ...], datasets: tuple[str, ...], intersect: bool | None,
            predictions_dir: str | None, shards_dir: str | None, out_dir: str | None, previews_dir: str | None,
            resamples: int | None, no_plots: bool) -> None:
    """Score prediction files on matched frames and write metrics, leaderboards and plots."""
    from redbench.benchmark.compare import CompareConfig, CompareError, compare_and_write
    from redbench.benchmark.ground_truth import GroundTruthError
    from redbench.benchmark.layout import LayoutError
    from redbench.benchmark.results import ResultsError
    from redbench.benchmark.store import StoreError
    from redbench.config import from_dict, params_hash
    from redbench.datasets.shards import ShardError
    from redbench.methods import train_params

    from redbench._io import ForeignFilesError

    params = params_of(ctx)
    with user_errors(CompareError, StoreError, ResultsError, ShardError, GroundTruthError, ForeignFilesError,
                     LayoutError):
        cfg = from_dict(CompareConfig, params.get("compare"), where="compare")
        overrides = {k: v for k, v in dict(methods=methods or None, datasets=datasets or None, intersect=intersect,
                                           predictions_dir=predictions_dir, shards_dir=shards_dir,
                                           out_dir=out_dir, previews_dir=previews_dir).items() if v is not None}
        if resamples is not None:
            overrides["bootstrap"] = dataclasses.replace(cfg.bootstrap, resamples=resamples)
        cfg = dataclasses.replace(cfg, **overrides)
        results, written = compare_and_write(cfg, params_hash(params.get("compare") or {}), plots=not no_plots,
                                             progress=show_progress(ctx), train_seed=train_params(params).seed)
    for ds, entry in results["datasets"].items():
        cov = entry["coverage"]
        click.echo(f"{ds} ({entry['data_source']}, box {entry['box_protocol']}): {cov['n_scored_frames']} of "
                   f"{cov['n_test_frames']} test frames scored, {entry['n_clips']} clips")
        if cov["intersect"] and cov["dropped_frames"]:
            by = ", ".join(f"{m}: {n}" for m, n in cov["dropped_by_method"].items() if n)
            click.echo(f"  --intersect dropped {cov['dropped_frames']} frame(s) not covered by every method ({by})")
        for m, rec in sorted(entry["methods"].items(), key=lambda kv: kv[1]["metrics"]["nme"]["value"]):
            v = rec["metrics"]["nme"]
            click.echo(f"  {m:24s} NME {100 * v['value']:.2f}% [{100 * v['ci'][0]:.2f}, {100 * v['ci'][1]:.2f}]"
                       if v["ci"][0] is not None else f"  {m:24s} NME {100 * v['value']:.2f}%")
        for t in entry.get("seeds", {}).get("tests", []):
            lo, hi = t["diff"]["ci"]
            ci = f" [{100 * lo:+.2f}, {100 * hi:+.2f}]" if lo is not None else ""
            p = "n/a" if t["tost"]["p"] is None else f"{t['tost']['p']:.3g}"
            click.echo(f"  {t['a']} - {t['b']} over seeds ({t['n_seeds_a']} / {t['n_seeds_b']}): "
                       f"{100 * t['diff']['value']:+.2f} NME points{ci}, TOST p {p} at "
                       f"{100 * t['tost']['margin']:g} point(s): {t['verdict']}")
    for protocol in results.get("protocols", {}):
        click.echo(f"box protocol {protocol}: results under {Path(cfg.out_dir) / ('box-' + protocol)}")
    click.echo(f"wrote {len(written)} files under {Path(cfg.out_dir)}")


@click.command("check")
@click.argument("metrics", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Also fail on improvements beyond tolerance (the reference is stale).")
@click.option("--all", "show_all", is_flag=True, help="Show every metric, not only the failing ones.")
@click.option("--update", is_flag=True,
              help="Write REFERENCE from METRICS (keeping its tolerances) instead of checking.")
@click.pass_context
def check(ctx: click.Context, metrics: Path, reference: Path, strict: bool, show_all: bool, update: bool) -> None:
    """Compare METRICS (a metrics.json) with a committed REFERENCE; exit 1 on regression."""
    from redbench._io import write_json_atomic
    from redbench.benchmark.check import (CheckError, check as run_check, check_reference_values, check_tolerances,
                                          format_table, make_reference, reference_tolerances)
    from redbench.benchmark.results import ResultsError, load_results

    tolerances = _param_tolerances(ctx)
    with user_errors(CheckError, ResultsError):
        if tolerances is not None:
            check_tolerances(tolerances, "params compare.check_tolerances")
        if update:
            old = reference_tolerances(reference) if reference.exists() else None
            new = make_reference(load_results(metrics), tolerances or old)
            check_reference_values(new, f"{metrics} (as a reference)")
            write_json_atomic(reference, new)
            click.echo(f"wrote {reference}")
            return
        rows, problems = run_check(metrics, reference, tolerances)
    bad = {"regressed", "missing"} | ({"improved"} if strict else set())
    failing = [r for r in rows if r.status in bad]
    table = format_table(rows, show_all)
    if table:
        click.echo(table)
    for p in problems:
        click.echo(f"incomparable: {p}", err=True)
    counts = {s: sum(r.status == s for r in rows) for s in ("ok", "improved", "regressed", "missing", "new")}
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if failing or problems:
        raise SystemExit(1)


def _param_tolerances(ctx: click.Context) -> dict | None:
    """compare.check_tolerances from params (the packaged defaults outside a project folder)."""
    from redbench.config import load_params

    with user_errors():
        section = load_params((ctx.obj or {}).get("params_path")).get("compare") or {}
    return section.get("check_tolerances") or None
