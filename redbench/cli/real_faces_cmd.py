"""`redbench real-faces FOLDER`: trained methods on real annotated photographs (redbench.benchmark.real_faces)."""

from __future__ import annotations

from pathlib import Path

import click

from redbench.cli._common import params_of, torch_kernels, user_errors


@click.command("real-faces")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-m", "--method", "methods", multiple=True,
              help="Method to score (repeatable) [default: params compare.methods without +smooth rows].")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("models"),
              show_default=True, help="Folder of <method>/ model folders.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the per-face NMEs here (JSON).")
@click.option("--into", type=click.Path(dir_okay=False, exists=True, path_type=Path), multiple=True,
              help="Also rewrite the <!-- reference:real_faces --> block of this Markdown file (repeatable).")
@click.pass_context
def real_faces(ctx: click.Context, folder: Path, methods: tuple[str, ...], models_dir: Path, out: Path | None,
               into: tuple[Path, ...]) -> None:
    """Score methods on the photographs of FOLDER (<sub>/<name>.pts with a .png or .jpg beside it) through the
    path a video frame takes under the `gt` box protocol; prints the table (NME inter-ocular, 68 points)."""
    from redbench._io import write_json_atomic, write_text_atomic
    from redbench.benchmark.compare import CompareConfig
    from redbench.benchmark.real_faces import RealFacesError, read_faces, score, to_markdown
    from redbench.benchmark.reference_report import rewrite_blocks
    from redbench.config import section
    from redbench.datasets.preprocess import PreprocessConfig
    from redbench.methods import create, get_method

    params = params_of(ctx)
    with user_errors(RealFacesError, ValueError, FileNotFoundError):
        names = list(methods) or [m for m in section(params, "compare", CompareConfig).methods
                                  if get_method(m).smooth_of is None]  # one photograph: no time to smooth over
        faces = read_faces(folder)
        with torch_kernels(params, *names):
            loaded = {m: create(m, params, models_dir) for m in names}
            result = score(faces, loaded, section(params, "preprocess", PreprocessConfig))
        table = to_markdown(result, folder.name)
        docs = {doc: rewrite_blocks(doc, {"real_faces": table}) for doc in into}
    if out is not None:
        write_json_atomic(out, result)
    for doc, text in docs.items():
        write_text_atomic(doc, text)
    click.echo(table, nl=False)
