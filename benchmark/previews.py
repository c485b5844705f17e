"""`redbench previews`: animated GIFs of a few test clips (the worst and median clip of one method by its clip
mean NME) rendered by redbench.benchmark.render, with an index the HTML leaderboard links them from.

<out_dir>/<dataset>/ is written whole (staged, then swapped in): `<pick>.gif` for each pick and `index.json`:

    {"schema": 1, "dataset", "data_source", "methods": [...], "by": METHOD, "box_protocols": [...],
     "previews": [{"file", "pick", "clip", "subset", "clip_nme": {method: mean NME}, "frames", "stride"}]}

Clip mean NME: inter-ocular, 68 points, the mean of the clip's per-frame NMEs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from redbench.benchmark.leaderboard import PREVIEW_INDEX
from redbench.benchmark.render import (PICKS, clip_mean_nmes, method_track, pick_clip, prediction_path, read_clip,
                                       render_frames, write_frames)

INDEX_SCHEMA = 1


def owned_by_previews(rel: str) -> bool:
    return rel == PREVIEW_INDEX or (rel.endswith(".gif") and "/" not in rel)


def write_previews(shards_dir: str | os.PathLike, predictions_dir: str | os.PathLike, dataset: str,
                   methods: Sequence[str], by: str | None = None, picks: Sequence[str] = PICKS,
                   out_dir: str | os.PathLike = "previews", zoom: int = 1, stride: int = 2,
                   fps: float = 25.0) -> dict[str, Any]:
    """Render each pick of `by` (default: the first method) as a GIF; returns the index written."""
    from redbench._io import staged_dir, write_json_atomic
    from redbench.benchmark.ground_truth import load_ground_truth
    from redbench.datasets.shards import load_manifest

    if not methods:
        raise ValueError("name at least one method to render")
    by = by or methods[0]
    manifest_dir = Path(shards_dir) / dataset
    manifest = load_manifest(manifest_dir)
    paths = {m: prediction_path(predictions_dir, m, dataset) for m in dict.fromkeys([*methods, by])}
    gt = load_ground_truth(manifest_dir)
    means = {m: clip_mean_nmes(manifest_dir, p, gt) for m, p in paths.items()}
    index: dict[str, Any] = {"schema": INDEX_SCHEMA, "dataset": dataset, "data_source": manifest.data_source,
                             "methods": list(methods), "by": by, "box_protocols": [], "previews": []}
    protocols: set[str] = set()
    with staged_dir(Path(out_dir) / dataset, owned_by_previews, "previews") as stage:
        for how in dict.fromkeys(picks):
            clip_id = pick_clip(means[by], how)
            clip = read_clip(manifest_dir, clip_id)
            tracks = [method_track(paths[m], clip, manifest) for m in methods]
            protocols.update(t.box_protocol for t in tracks)
            n = write_frames(stage / f"{how}.gif", render_frames(clip, tracks, zoom, stride=stride), fps / stride)
            index["previews"].append({"file": f"{how}.gif", "pick": how, "clip": clip_id, "subset": clip.subset,
                                      "clip_nme": {m: means[m].get(clip_id) for m in methods}, "frames": n,
                                      "stride": stride})
        index["box_protocols"] = sorted(protocols)
        write_json_atomic(stage / PREVIEW_INDEX, index)
    return index
