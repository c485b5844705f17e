"""`redbench fetch DATASET`: the source comes from params.yaml `fetch.<dataset>`."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, show_progress, user_errors
from redbench.datasets.table import dataset_names


@click.command("fetch")
@click.argument("dataset", type=click.Choice(dataset_names()))
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where the raw layout goes.  [default: data/raw/DATASET]",
)
@click.pass_context
def fetch(ctx: click.Context, dataset: str, out_dir: Path | None) -> None:
    """Fetch DATASET's raw files into data/raw/DATASET (source from params.yaml fetch.DATASET).

    Sources: synthetic (generated from params `synthetic`), path (a local zip/tar archive, checked against
    sha256 when given, or a folder, copied) or url (downloaded with resume). A complete fetch of the same
    source is not repeated.
    """
    from redbench.config import from_dict
    from redbench.datasets.archive import ArchiveError
    from redbench.datasets.download import DownloadError
    from redbench.datasets.fetch import FetchConfig, FetchError, fetch_dataset
    from redbench.datasets.table import get_dataset

    params = params_of(ctx)
    out_dir = out_dir if out_dir is not None else Path("data/raw") / dataset
    with user_errors(FetchError, ArchiveError, DownloadError):
        cfg = from_dict(FetchConfig, (params.get("fetch") or {}).get(dataset), where=f"fetch.{dataset}")
        synthetic_cfg = None
        if cfg.source == "synthetic":
            from redbench.datasets.synthetic.config import SyntheticConfig

            if get_dataset(dataset).synthetic is None:
                raise FetchError(f"fetch.{dataset}: {dataset} has no synthetic stand-in (the datasets table): "
                                 "set source to path or url")
            synthetic_cfg = from_dict(SyntheticConfig, params.get("synthetic"), where="synthetic")
        result = fetch_dataset(dataset, cfg, out_dir, synthetic_cfg=synthetic_cfg, progress=show_progress(ctx))
    state = "already complete" if result.skipped else "fetched"
    click.echo(f"{dataset}: {state} in {result.out_dir} (source: {cfg.source})")
