"""Settings chosen on validation, for every learned method alike: each row of a study trains one method of the
reference profile with `redbench train METHOD --set ...` on the reference data, and is scored by its best
validation NME (the 10 held-out validation people, inter-ocular, 68 points, synthetic; RED run online over whole
clips, with its temporal diagnostics). Finished runs are kept, so a study resumes; a row without overrides whose
model the reference run has (its models/seed<k>/<method>) copies that run's records.

    python scripts/validation_study.py --study static_care|red_options [--reference reference] [--params P]
        [--out reference/experiments/<study>] [--rows ROW ...]

Writes OUT/<row>_seed-<k>/ (metrics.json, train_info.json, train_log.csv, diagnostics.json), OUT/runs.csv and
prints the table. An override may name `{seed}` and `{reference}` (e.g. a model of the same seed to start from).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

SEEDS = (0, 1, 2)
# study -> row -> (method, overrides of params methods.<method>, seeds). A row without overrides is the reference
# profile's setting when the study was made (its records were copied from the run): a study's outcome changes the
# profile, so the static_care rows state the settings they compare in full.
STUDIES = {
    "static_care": {
        "heatmap": ("heatmap", ("loop.erasing=0.0",), SEEDS),
        "heatmap_erasing-0.5": ("heatmap", ("loop.erasing=0.5",), SEEDS),
        "cnn_regression": ("cnn_regression", ("loop.erasing=0.0",), SEEDS),
        "cnn_regression_erasing-0.5": ("cnn_regression", ("loop.erasing=0.5",), SEEDS),
        "ert": ("ert", ("num_trees_per_cascade_level=100", "oversampling_amount=5"), (0,)),
        "ert_trees-500": ("ert", ("num_trees_per_cascade_level=500", "oversampling_amount=5"), (0,)),
        "ert_oversampling-20": ("ert", ("num_trees_per_cascade_level=100", "oversampling_amount=20"), (0,)),
        "ert_dlib-defaults": ("ert", ("num_trees_per_cascade_level=500", "oversampling_amount=20"), (0,)),
    },
    # issue 25's options for RED at the reference budget (2,400 steps, cosine), in the order they are run: an EMA
    # of the weights, full RED gated and started from its seed's trained RED-static (twice the training compute),
    # a longer warm-up at a lower peak lr, the zero-gated temporal path, soft sRNN feedback, 16-frame windows at
    # equal frames per step, soft-argmax decoding of 68 maps
    "red_options": {
        "red": ("red", (), SEEDS),
        "red_static": ("red_static", (), SEEDS),
        "red_ema-0.99": ("red", ("train.ema=0.99",), SEEDS),
        "red_gated_from-static": ("red", ("temporal_gate=true",
                                          "train.init_from={reference}/models/seed{seed}/red_static/model.pt"), SEEDS),
        "red_warmup-200_lr-1e-3": ("red", ("train.warmup_steps=200", "train.lr=0.001"), SEEDS),
        "red_gated": ("red", ("temporal_gate=true",), SEEDS),
        "red_soft-srnn": ("red", ("srnn_feedback=soft",), SEEDS),
        "red_clip-16_batch-1": ("red", ("clip_len=16", "train.batch_clips=1"), SEEDS),
        "red_soft-argmax": ("red", ('map_points="68"', "decode=soft_argmax"), SEEDS),
    },
}
RECORDS = ("metrics.json", "train_info.json", "train_log.csv", "diagnostics.json")


def run(row: str, method: str, overrides: tuple[str, ...], seed: int, reference: Path, params: Path, out: Path
        ) -> None:
    folder = out / f"{row}_seed-{seed}"
    if (folder / "metrics.json").exists():
        return
    done = reference / "models" / f"seed{seed}" / method
    if not overrides and (done / "metrics.json").exists():  # the reference run's own model of these settings
        _copy_records(done, folder)
        return
    model = out / "models" / f"{row}_seed-{seed}"
    sets = [o.format(seed=seed, reference=reference.resolve()) for o in overrides]
    cmd = [str(Path(sys.executable).parent / "redbench"), "--params", str(params), "train", method,
           "--seed", str(seed), "--out", str(model), "--shards-dir", str(reference / "data" / "shards"), "--resume",
           *(a for o in sets for a in ("--set", o))]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    _copy_records(model, folder)


def _copy_records(model: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RECORDS:
        if (model / name).exists():
            shutil.copyfile(model / name, folder / name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", choices=list(STUDIES), required=True)
    ap.add_argument("--reference", type=Path, default=Path("reference"), help="the reference profile's folder")
    ap.add_argument("--params", type=Path, help="the profile's params [default: REFERENCE/params.yaml]")
    ap.add_argument("--out", type=Path, help="[default: reference/experiments/STUDY]")
    ap.add_argument("--rows", nargs="*", help="rows to run [default: all of the study's]")
    args = ap.parse_args()
    rows = STUDIES[args.study]
    unknown = sorted(set(args.rows or ()) - set(rows))
    if unknown:
        ap.error(f"--rows: not rows of {args.study}: {unknown} (rows: {list(rows)})")
    params = args.params or args.reference / "params.yaml"
    args.out = args.out or Path("reference/experiments") / args.study
    for row in args.rows or rows:
        method, overrides, seeds = rows[row]
        for seed in seeds:
            run(row, method, overrides, seed, args.reference, params, args.out)
    from redbench.red.experiments import read_runs, rows_markdown, runs_csv

    runs = read_runs(args.out)
    (args.out / "runs.csv").write_text(runs_csv(runs))
    print(rows_markdown(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
