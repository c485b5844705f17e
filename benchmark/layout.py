"""Where compare finds prediction stores: one per method and dataset, more with training seeds or box protocols.

    predictions/<method>/<dataset>.h5                       the store compare has always read (params predict's
                                                            box protocol; the model of params train.seed)
    predictions/<method>/seed-<k>/<dataset>.h5              the same method trained with seed k
    predictions/box-<protocol>/<method>/<dataset>.h5        another box protocol (gt, gt_jitter, detector, tracking)
    predictions/box-<protocol>/<method>/seed-<k>/<dataset>.h5

A method's seed stores are its seed-<k> files; its top-level file counts as the seed of params train.seed
unless a seed-<that seed> file exists too (then the seed-<k> file is that seed's). The top-level file (or,
without one, the store of the lowest seed) is the method's headline store: every number compare wrote
before seeds existed comes from it, unchanged. `predict` writes these paths with --out (and --box).
"""

from __future__ import annotations

import re
from pathlib import Path

SEED_DIR = re.compile(r"seed-(\d+)")
PROTOCOL_PREFIX = "box-"


class LayoutError(ValueError):
    """A predictions folder whose layout compare cannot read; names the path."""


def seed_stores(predictions_dir: str | Path, method: str, dataset: str, train_seed: int | None) -> dict[int, Path]:
    """seed -> prediction file of one method and dataset, in seed order (empty when there is none)."""
    folder = Path(predictions_dir) / method
    out: dict[int, Path] = {}
    if folder.is_dir():
        for sub in folder.iterdir():
            m = SEED_DIR.fullmatch(sub.name)
            if m and sub.is_dir() and (sub / f"{dataset}.h5").is_file():
                out[int(m.group(1))] = sub / f"{dataset}.h5"
    top, top_seed = folder / f"{dataset}.h5", 0 if train_seed is None else train_seed
    if top.is_file() and top_seed not in out:
        out[top_seed] = top
    return dict(sorted(out.items()))


def headline_store(predictions_dir: str | Path, method: str, dataset: str, seeds: dict[int, Path]) -> Path | None:
    """The method's top-level file, else the store of its lowest seed, else None."""
    top = Path(predictions_dir) / method / f"{dataset}.h5"
    if top.is_file():
        return top
    return next(iter(seeds.values()), None)


def protocol_roots(predictions_dir: str | Path, protocols: tuple[str, ...]) -> dict[str, Path]:
    """protocol -> predictions/box-<protocol> for every such folder; an unknown protocol's folder is an error."""
    root = Path(predictions_dir)
    out = {}
    if not root.is_dir():
        return out
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and sub.name.startswith(PROTOCOL_PREFIX):
            name = sub.name[len(PROTOCOL_PREFIX):]
            if name not in protocols:
                raise LayoutError(f"{sub}: unknown box protocol {name!r} (known: {', '.join(protocols)})")
            out[name] = sub
    return out
