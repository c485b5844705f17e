"""The static methods' settings, chosen on validation like RED's: each row trains one method of the reference
profile with `redbench train METHOD --set ...` on the reference data, and is scored by its best validation NME
(the 10 held-out validation people, inter-ocular, 68 points, synthetic). Finished runs are kept, so the script
resumes; rows whose reference-profile run already exists (its models/seed<k>/<method>) copy that run's records.

    python scripts/static_care.py [--reference reference] [--params P] [--out reference/experiments/static_care]

Writes OUT/<row>_seed-<k>/ (metrics.json, train_info.json, train_log.csv), OUT/runs.csv and prints the table.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

# row -> (method, overrides of params methods.<method>, seeds); the plain rows are the reference profile's settings
ROWS = {
    "heatmap": ("heatmap", (), (0, 1, 2)),
    "heatmap_erasing-0.5": ("heatmap", ("loop.erasing=0.5",), (0, 1, 2)),
    "cnn_regression": ("cnn_regression", (), (0, 1, 2)),
    "cnn_regression_erasing-0.5": ("cnn_regression", ("loop.erasing=0.5",), (0, 1, 2)),
    "ert": ("ert", (), (0,)),
    "ert_trees-500": ("ert", ("num_trees_per_cascade_level=500",), (0,)),
    "ert_oversampling-20": ("ert", ("oversampling_amount=20",), (0,)),
    "ert_dlib-defaults": ("ert", ("num_trees_per_cascade_level=500", "oversampling_amount=20"), (0,)),
}
RECORDS = ("metrics.json", "train_info.json", "train_log.csv")


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
    cmd = [str(Path(sys.executable).parent / "redbench"), "--params", str(params), "train", method,
           "--seed", str(seed), "--out", str(model), "--shards-dir", str(reference / "data" / "shards"), "--resume",
           *(a for o in overrides for a in ("--set", o))]
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
    ap.add_argument("--reference", type=Path, default=Path("reference"), help="the reference profile's folder")
    ap.add_argument("--params", type=Path, help="the profile's params [default: REFERENCE/params.yaml]")
    ap.add_argument("--out", type=Path, default=Path("reference/experiments/static_care"))
    ap.add_argument("--rows", nargs="*", default=list(ROWS), help="rows to run [default: all]")
    args = ap.parse_args()
    params = args.params or args.reference / "params.yaml"
    for row in args.rows:
        method, overrides, seeds = ROWS[row]
        for seed in seeds:
            run(row, method, overrides, seed, args.reference, params, args.out)
    from redbench.red.experiments import read_runs, rows_markdown, runs_csv

    runs = read_runs(args.out)
    (args.out / "runs.csv").write_text(runs_csv(runs))
    print(rows_markdown(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
