"""Train RED's ablations with the params.yaml training budget and print their validation NME as a table.

Each row is `methods.red` with one switch changed (`variant=...`, or any other `key=value` of that section,
dotted for nested keys; `seed=N` retrains with another seed, for the run-to-run spread), trained on the
`train` split of params `train.datasets` with params `train.val_fraction` of the identities held out, into
models/ablations/<row>/ (resumable: a finished row is read back, not retrained; a row that stopped before the
convergence condition the params add goes on from its checkpoint; a row folder trained with other params is an
error, not silently reused). Validation NME is inter-ocular, 68 points, gt box, on the
first `val_frames_per_clip` frames of each held-out clip: synthetic data unless params fetch real sets.

    python scripts/red_ablations.py                       # the five variants
    python scripts/red_ablations.py variant=no_cls seed=1 train.loss.map_coords=100,decode=soft_argmax
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path

import yaml

VARIANTS = ["variant=full", "variant=static", "variant=no_srnn", "variant=no_cls", "variant=reg_only"]


def row_config(section: dict, overrides: str, seed: int):
    """methods.red with `k=v,k2=v2` applied (values parsed as YAML) -> (red.method.Config, seed)."""
    import copy

    from redbench.config import from_dict
    from redbench.red.method import Config

    section = copy.deepcopy(section)
    for kv in filter(None, overrides.split(",")):
        key, value = kv.split("=", 1)
        if key == "seed":
            seed = int(value)
            continue
        *path, last = key.split(".")
        node = section
        for p in path:
            node = node.setdefault(p, {})
        node[last] = yaml.safe_load(value)
    return from_dict(Config, section, where=f"methods.red with {overrides}"), seed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="*", default=VARIANTS, help="one row per argument: key=value[,key=value]")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--shards-dir", type=Path, default=Path("data/shards"))
    ap.add_argument("--out", type=Path, default=Path("models/ablations"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from redbench import methods
    from redbench.config import load_params, params_hash
    from redbench.red.method import continues
    from redbench.red.train import TRAIN_LOG

    params = load_params(args.params)
    section = params["methods"]["red"]
    seed = methods.train_params(params).seed
    results = []
    for overrides in args.rows:
        cfg, row_seed = row_config(section, overrides, seed)
        out = args.out / overrides.replace("=", "-").replace(",", "_")
        log_path = out / TRAIN_LOG
        stale = out / "train_info.json"
        done = log_path.exists() and (out / "model.pt").exists()
        if stale.exists() and json.loads(stale.read_text())["config_hash"] != params_hash(dataclasses.asdict(cfg)):
            if not continues(out, cfg, row_seed):
                sys.exit(f"{out}: trained with other methods.red params than {args.params} has now; "
                         f"move it away to retrain that row")
            done = False  # stopped before the convergence condition the params add: it goes on from there
        if not done:  # an interrupted row continues from out.partial/
            methods.train("red", params, out, args.shards_dir, seed=row_seed, resume=True, config=cfg)
        with open(log_path, newline="") as f:
            nme = [float(r["val_nme_inter_ocular"]) for r in csv.DictReader(f)]
        results.append((overrides, nme))

    print("\n| row | val NME by epoch | final | best |\n|---|---|---|---|")
    for overrides, nme in results:
        print(f"| {overrides} | {' '.join(f'{v:.3f}' for v in nme)} | {nme[-1]:.3f} | {min(nme):.3f} |")


if __name__ == "__main__":
    main()
