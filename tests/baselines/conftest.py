"""Small shard sets for the baseline tests (built once per session) and the shared output checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redbench.landmarks import flip_points


@pytest.fixture(scope="session")
def toy_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy 300vw-like shard set: 9 clips of 12 frames (6 train, 3 test), 96 px crops of dot faces."""
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("toy") / "300vw"
    make_fake_shards(root, n_clips=9, n_frames=12, crop_size=96, seed=3)
    return root



def first_test_clip(shards: Path, clip: int = 0):
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards)
    with m.open(m.entries("test")[0]) as r:
        return r.read_clip(clip)


def flip_box(boxes: np.ndarray, width: int) -> np.ndarray:
    """Boxes (N, 4) of a horizontally flipped image `width` px wide."""
    return np.stack([width - 1 - boxes[:, 2], boxes[:, 1], width - 1 - boxes[:, 0], boxes[:, 3]], axis=1)


def nme(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean inter-ocular NME (outer eye corners 36, 45) of (N, 68, 2) arrays."""
    io = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=-1)
    return float((np.linalg.norm(pred - gt, axis=-1).mean(-1) / io).mean())


def check_method(method, shards: Path, accuracy: float, flip_tol: float) -> None:
    """Output (T,68,2) float64 in crop coords with NME < accuracy; on mirrored crops, the mirrored ground truth
    within NME `accuracy` and the mirrored prediction within NME `flip_tol`."""
    clip = first_test_clip(shards)
    s = clip.crops.shape[1]
    boxes = clip.boxes["gt"].astype(np.float64)
    pred = method.predict_clip(clip.crops, boxes, False)
    assert pred.shape == (len(clip), 68, 2) and pred.dtype == np.float64
    assert nme(pred, clip.landmarks) < accuracy
    flipped = method.predict_clip(np.ascontiguousarray(clip.crops[:, :, ::-1]), flip_box(boxes, s), False)
    assert nme(flipped, flip_points(clip.landmarks, s)) < accuracy
    assert nme(flipped, flip_points(pred, s)) < flip_tol


@pytest.fixture
def checks():
    """The helpers above, for test modules (importlib import mode: no sibling imports)."""
    import types

    return types.SimpleNamespace(first_test_clip=first_test_clip, flip_box=flip_box, nme=nme,
                                 check_method=check_method)
