"""A small fake world for the compare tests: fake test shards and prediction files written from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redbench.benchmark.ground_truth import GroundTruth, load_ground_truth
from redbench.benchmark.store import PredictionMeta, write_predictions


def write_method(root: Path, gt: GroundTruth, method: str, landmarks: np.ndarray, rows: np.ndarray | None = None,
                 dataset: str = "300vw", **meta_kw) -> Path:
    """predictions/<method>/<dataset>.h5 with `landmarks` (N, 68, 2) for GT rows `rows` (default: all)."""
    rows = np.arange(len(gt)) if rows is None else rows
    meta = dict(method=method, method_version="1", config_hash="cfg", train_data_hash="train", box_protocol="gt",
                dataset=dataset, data_source=gt.data_source, test_manifest_hash=gt.manifest_sha256,
                seconds_per_frame=0.002)
    meta.update(meta_kw)
    path = root / "predictions" / method / f"{dataset}.h5"
    order = np.random.default_rng(0).permutation(len(rows))  # files need not be in key order
    write_predictions(path, PredictionMeta(**meta), gt.clip_ids[rows][order], gt.frame_indices[rows][order],
                      landmarks[order])
    return path


@pytest.fixture(scope="session")
def fake_shards(tmp_path_factory) -> Path:
    """data/shards/300vw of 4 test clips x 8 frames (category1..3), shared read-only by the tests."""
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("world")
    make_fake_shards(root / "data" / "shards" / "300vw", n_clips=12, n_frames=8, crop_size=32, seed=1)
    return root / "data" / "shards"


@pytest.fixture()
def world(tmp_path, fake_shards) -> tuple[Path, GroundTruth]:
    """tmp_path with predictions/ for methods good (1 px off), bad (3 px off) and a copy of the shards' path."""
    gt = load_ground_truth(fake_shards / "300vw")
    rng = np.random.default_rng(5)
    write_method(tmp_path, gt, "good", gt.landmarks + rng.normal(0, 1, gt.landmarks.shape))
    write_method(tmp_path, gt, "bad", gt.landmarks + rng.normal(0, 3, gt.landmarks.shape))
    return tmp_path, gt


TRACK_PARAMS = {"train": {"datasets": ["300vw"], "val_fraction": 0.25, "seed": 0},
                "methods": {"mean_shape": {"max_frames": 1000},
                            "red": {"input_size": 32, "train": {"epochs": 2, "passes_per_epoch": 1, "batch_clips": 2,
                                                                "checkpoint_every": 0, "val_frames_per_clip": 2,
                                                                "threads": 1}}},
                "smoothing": {"filter": "one_euro"}}


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory) -> tuple[Path, Path]:
    """A 16-frame synthetic 300-VW video (`114/vid.avi` MJPG with annot/) and the same frames as PNGs."""
    from redbench.datasets.fake import write_synthetic_video

    root = tmp_path_factory.mktemp("video")
    return write_synthetic_video(root / "114", 16, seed=3, frames_dir=root / "frames"), root / "frames"


@pytest.fixture(scope="session")
def track_models(tmp_path_factory) -> Path:
    """models/mean_shape and models/red (a tiny RED, 2 short epochs) trained on fake shards with TRACK_PARAMS."""
    from redbench import methods
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("track_models")
    make_fake_shards(root / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=64, n_identities=4, seed=5)
    for name in ("mean_shape", "red"):
        methods.train(name, TRACK_PARAMS, root / "models" / name, root / "shards")
    return root / "models"
