"""write_dataset: generate one synthetic stand-in dataset in its real raw layout, with the writer the datasets
table names for it (write_300vw, write_300w, write_tf below).

Everything is drawn from numpy generators seeded by (cfg.seed, a stable hash of the item's name), so one
item's content does not depend on which other items are generated, and the same seed gives the same
annotations and sidecars byte for byte. The output is built in a temporary folder beside out_dir and renamed
onto it at the end: out_dir is either complete or absent.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from redbench._io import replace_dir
from redbench.datasets.synthetic import layouts, writers
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.identity import Identity, sample_identity
from redbench.datasets.synthetic.scene import make_script, render_script

log = logging.getLogger(__name__)

TF_CATEGORY = 1  # Talking Face: one person talking to the camera, well lit


def item_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one named item (crc32: stable across runs, unlike Python's hash())."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8"))]))


def identity_name(pool: str, k: int) -> str:
    return f"synthetic/{pool}-{k:03d}"


def make_identity(cfg: SyntheticConfig, pool: str, k: int) -> Identity:
    name = identity_name(pool, k)
    return sample_identity(item_rng(cfg.seed, "identity/" + name), name)


@dataclass(frozen=True)
class VideoItem:
    video_id: str
    split: str
    category: int  # the difficulty it is drawn with (test videos: their real 300-VW category)
    identity: tuple[str, int]  # (pool, index)


def vw_items(cfg: SyntheticConfig) -> list[VideoItem]:
    """The 300-VW videos to generate: the first n ids of each real list; test identities disjoint from train."""
    items = []
    n_train = min(len(layouts.VW_TRAIN), cfg.scaled(cfg.vw_train_videos))
    mix = np.asarray(cfg.train_mix, float) / sum(cfg.train_mix)
    for i, vid in enumerate(layouts.VW_TRAIN[:n_train]):
        cat = int(item_rng(cfg.seed, f"300vw/{vid}/category").choice(3, p=mix)) + 1
        items.append(VideoItem(vid, "train", cat, ("train", i % cfg.n_identities_train)))
    # The identity follows the video's position in the real test lists, not in the generated subset, so a
    # video's content does not depend on how many others are generated.
    # Past a category's real ids come the reserved synthetic ones (after every real id: the positions of the real
    # videos, and so their people, do not change).
    lists = {c: ids + layouts.VW_CATEGORY_EXTRA[c] for c, ids in layouts.VW_CATEGORY.items()}
    order = [v for ids in layouts.VW_CATEGORY.values() for v in ids] + [
        v for ids in layouts.VW_CATEGORY_EXTRA.values() for v in ids]
    position = {vid: k for k, vid in enumerate(order)}
    for cat, ids in lists.items():
        for vid in ids[:min(len(ids), cfg.scaled(cfg.vw_test_videos_per_category))]:
            items.append(VideoItem(vid, "test", cat, ("test", position[vid] % cfg.n_identities_test)))
    return items


def _face_height(cfg: SyntheticConfig, rng: np.random.Generator) -> float:
    return float(rng.uniform(cfg.face_height_min, cfg.face_height_max))


def write_300vw(root: Path, cfg: SyntheticConfig, progress: bool) -> None:
    items = vw_items(cfg)
    n_frames = cfg.scaled(cfg.vw_frames)
    for it in tqdm(items, desc="300vw", unit="video", disable=not progress):
        rng = item_rng(cfg.seed, f"300vw/{it.video_id}")
        ident = make_identity(cfg, *it.identity)
        script = make_script(rng, ident, it.category, n_frames, cfg.fps, (cfg.frame_width, cfg.frame_height),
                             _face_height(cfg, rng))
        writers.write_vw_video(root / it.video_id, render_script(script), cfg.fps, cfg.jpeg_quality, cfg.seed,
                               ident.name, it.category)


def w300_items(cfg: SyntheticConfig) -> list[tuple[str, str, str, str, int | None]]:
    """(folder, stem, ext, split, forced category) for every 300-W still, with real-looking file names."""
    counts = {"afw": cfg.w300_afw, "helen/trainset": cfg.w300_helen_train, "lfpw/trainset": cfg.w300_lfpw_train,
              "helen/testset": cfg.w300_helen_test, "lfpw/testset": cfg.w300_lfpw_test, "ibug": cfg.w300_ibug}
    out = []
    for folder, split, _subset, ext, cat in layouts.W300_FOLDERS:
        for i in range(cfg.scaled(counts[folder])):
            if folder == "afw":
                stem = f"{1000000000 + 7919 * i}_1"
            elif folder.startswith("helen"):
                stem = f"{100000000 + 104729 * i + (0 if split == 'train' else 7)}_1"
            elif folder.startswith("lfpw"):
                stem = f"image_{i + 1:04d}"
            else:
                stem = f"image_{i + 1:03d}_1"
            out.append((folder, stem, ext, split, cat))
    return out


def write_300w(root: Path, cfg: SyntheticConfig, progress: bool) -> None:
    mix = np.asarray(cfg.train_mix, float) / sum(cfg.train_mix)
    for folder, stem, ext, split, forced in tqdm(w300_items(cfg), desc="300w", unit="image", disable=not progress):
        rng = item_rng(cfg.seed, f"300w/{folder}/{stem}")
        if forced is not None:
            cat = forced
        elif split == "train":
            cat = int(rng.choice(3, p=mix)) + 1
        else:  # "common" test subset: no category-3 difficulty (that is ibug's)
            cat = int(rng.choice(2)) + 1
        pool, n = ("train", cfg.n_identities_train) if split == "train" else ("test", cfg.n_identities_test)
        ident = make_identity(cfg, pool, int(rng.integers(n)))
        script = make_script(rng, ident, cat, 1, cfg.fps, (cfg.frame_width, cfg.frame_height), _face_height(cfg, rng))
        frame = next(iter(render_script(script)))
        writers.write_still(root / folder, stem, ext, frame, cfg.jpeg_quality, cfg.seed, ident.name, cat)


def write_tf(root: Path, cfg: SyntheticConfig, progress: bool) -> None:
    rng = item_rng(cfg.seed, "tf/" + layouts.TF_NAME)
    name = f"synthetic/tf-{layouts.TF_NAME}"
    ident = sample_identity(item_rng(cfg.seed, "identity/" + name), name)
    n = cfg.scaled(cfg.tf_frames)
    script = make_script(rng, ident, TF_CATEGORY, n, cfg.fps, (cfg.frame_width, cfg.frame_height),
                         _face_height(cfg, rng))
    frames = tqdm(render_script(script), total=n, desc="tf", unit="frame", disable=not progress)
    writers.write_tf(root, frames, cfg.jpeg_quality, cfg.seed, ident.name)


def write_dataset(dataset: str, out_dir: Path, cfg: SyntheticConfig, progress: bool = False) -> None:
    """Generate `dataset` into out_dir, replacing it atomically (complete or absent)."""
    from redbench.datasets.table import get_dataset

    writer = get_dataset(dataset).synthetic_writer()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        with writers.portable_opencv():  # the same pixels on every CPU (docs/reproducibility.md)
            writer(tmp, cfg, progress)
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
        try:
            replace_dir(tmp, out_dir, old / out_dir.name)
        finally:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote synthetic %s to %s", dataset, out_dir)
