"""Ensemble of Regression Trees (Kazemi & Sullivan, "One Millisecond Face Alignment with an Ensemble of
Regression Trees", CVPR 2014), trained here with dlib's own trainer on our training frames.

dlib's `train_shape_predictor` is called on in-memory images and shapes (the same trainer the XML-file overload
runs, without writing thousands of images to disk). Options follow dlib's names (cascade depth, trees per level,
oversampling, ...); the defaults are small for CPU time, dlib's own defaults are 10 / 500 / 20.

Box adapter: dlib is given our face box (the tight landmark box) as its rectangle, in training and prediction
alike, on the region of `region_scale` x the box resampled to `size` px gray (dlib's outputs are integers, so
the region is made large enough that the rounding is small).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redbench._io import atomic_path
from redbench.baselines._dlib import DlibShapeMethod, dlib_rect, resample
from redbench.baselines.train_frames import VAL_FRAMES, iter_train_clips, validation_split
from redbench import metrics
from redbench.datasets.boxes import flip_boxes
from redbench.datasets.input_crop import to_input
from redbench.methods.cost import TrainCost
from redbench.methods.train_log import write_log
from redbench.methods.protocol import TrainInfo, train_data_hash
from redbench.config import param, params_hash
from redbench.landmarks import flip_points

log = logging.getLogger(__name__)

VERSION = "1"
MODEL_FILE = "ert.dat"


@dataclass(frozen=True)
class Config:
    region_scale: float = param(1.5, min=0, max=10, exclusive_min=True)
    size: int = param(160, min=16, max=2048)
    cascade_depth: int = param(10, min=1, max=100)
    tree_depth: int = param(4, min=1, max=16)
    num_trees_per_cascade_level: int = param(100, min=1)
    nu: float = param(0.1, min=0, max=1, exclusive_min=True)
    oversampling_amount: int = param(5, min=1)
    oversampling_translation_jitter: float = param(0.1, min=0, max=1)
    feature_pool_size: int = param(400, min=2)
    num_test_splits: int = param(20, min=1)
    max_frames: int = param(2000, min=1)
    flip: bool = True  # add mirrored training images
    num_threads: int = param(2, min=1, max=256)


def _box(box: np.ndarray) -> np.ndarray:
    return np.asarray(box, dtype=np.float64)


def training_inputs(crops: np.ndarray, points: np.ndarray, boxes: np.ndarray, cfg: Config
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gray inputs (N,size,size) uint8, landmarks (N,68,2) and rects (N,4) in input coords, mirrored ones added."""
    images, affines, rects = resample(crops, boxes, cfg.region_scale, cfg.size)
    pts = to_input(points, affines)
    if cfg.flip:
        m_pts = flip_points(pts, cfg.size)
        m_rects = flip_boxes(rects, cfg.size)
        images = np.concatenate([images, images[:, :, ::-1]])
        pts, rects = np.concatenate([pts, m_pts]), np.concatenate([rects, m_rects])
    return images, pts, rects


def fit(images: np.ndarray, points: np.ndarray, rects: np.ndarray, cfg: Config, seed: int):
    """Train a dlib shape predictor on inputs (N,s,s) uint8 with landmarks (N,68,2) and rects (N,4)."""
    import dlib

    opts = dlib.shape_predictor_training_options()
    for name in ("cascade_depth", "tree_depth", "num_trees_per_cascade_level", "nu", "oversampling_amount",
                 "oversampling_translation_jitter", "feature_pool_size", "num_test_splits", "num_threads"):
        setattr(opts, name, getattr(cfg, name))
    opts.random_seed = str(seed)
    opts.be_verbose = log.isEnabledFor(logging.DEBUG)
    objects = []
    for pts, r in zip(points, rects):
        parts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in pts])
        objects.append([dlib.full_object_detection(dlib_rect(r), parts)])
    return dlib.train_shape_predictor([np.ascontiguousarray(i) for i in images], objects, opts)


def train(cfg: Config, train_manifest: Path | list[Path], out_dir: Path, *, seed: int, val_fraction: float = 0.2,
          resume: bool = False, progress: bool = False) -> None:
    """The shared protocol: trained on the training people and validated once on the people RED validates on
    (dlib's trainer keeps no intermediate cascades, so `cascade_depth` is a cap, reported as such)."""
    t0 = time.perf_counter()
    train_ids, val_ids = validation_split(train_manifest, val_fraction)
    parts = [training_inputs(c["crops"], c["landmarks"], c["boxes/gt"], cfg)
             for c in iter_train_clips(train_manifest, cfg.max_frames, seed, progress,
                                       identities=train_ids if val_ids else None)]
    images, points, rects = (np.concatenate(a) for a in zip(*parts))
    log.info("ert: training dlib's shape predictor on %d images", len(images))
    predictor = fit(images, points, rects, cfg, seed)
    out_dir = Path(out_dir)
    with atomic_path(out_dir / MODEL_FILE, suffix=".dat") as tmp:
        predictor.save(str(tmp))
    wall = round(time.perf_counter() - t0, 1)
    value = validation_nme(load(out_dir, cfg), train_manifest, val_ids) if val_ids else float("nan")
    samples = len(images) * cfg.oversampling_amount
    cost = TrainCost(steps=cfg.cascade_depth, frames_seen=samples * cfg.cascade_depth, wall_s=wall,
                     threads=cfg.num_threads, flops=training_flops(samples, cfg), stopped="cap",
                     flops_source="estimated: operation counts of dlib's trainer (ert.training_flops)")
    write_log(out_dir, [{"epoch": 1, "step": cfg.cascade_depth, "train_loss": float("nan"),
                         "val_nme_inter_ocular": value, "frames_seen": cost.frames_seen, "train_flops": cost.flops,
                         "wall_s": wall, "stop": None}], cost)
    TrainInfo("ert", VERSION, params_hash(dataclasses.asdict(cfg)), train_data_hash(train_manifest),
              len(images), time.perf_counter() - t0, seed, cost.as_dict()).write(out_dir)


def validation_nme(method: DlibShapeMethod, train_manifest: Path | list[Path], val_ids: frozenset[str]) -> float:
    """Mean inter-ocular NME on frames of the held-out people, with their gt boxes."""
    errors = [metrics.nme(method.predict(c["crops"], c["boxes/gt"].astype(np.float64)), c["landmarks"])
              for c in iter_train_clips(train_manifest, VAL_FRAMES, 0, identities=val_ids)]
    return float(np.concatenate(errors).mean())


def training_flops(samples: int, cfg: Config) -> float:
    """Estimated operations of dlib's ERT training (no network to count). Per cascade level and training sample
    (images x oversampling): ~10 per pooled pixel feature (similarity warp + read); per tree, at each of its
    tree_depth levels, num_test_splits candidate splits, each a comparison and a 136-value residual sum
    (~2 x 136), plus the leaf update (136)."""
    per_tree = cfg.tree_depth * cfg.num_test_splits * 2 * 136 + 136
    per_level = samples * (10 * cfg.feature_pool_size + cfg.num_trees_per_cascade_level * per_tree)
    return float(cfg.cascade_depth * per_level)


def load(model_dir: Path | None, cfg: Config) -> DlibShapeMethod:
    import dlib

    path = Path(model_dir or ".") / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no ERT model (run `redbench train ert`)")
    try:
        predictor = dlib.shape_predictor(str(path))
    except RuntimeError as e:
        raise ValueError(f"{path}: not a readable dlib shape predictor: {e}") from None
    return DlibShapeMethod("ert", predictor, _box, cfg.region_scale, cfg.size)
