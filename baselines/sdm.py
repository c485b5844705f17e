"""Supervised Descent Method (Xiong & De la Torre, "Supervised Descent Method and its Applications to Face
Alignment", CVPR 2013).

A cascade of linear maps: at stage k the shape update is x_{k+1} = x_k + [phi(I, x_k), 1] W_k, with phi the HOG
block descriptors around the current landmarks (the paper uses SIFT; HOG is the common substitute) and W_k a
ridge regression learnt from training images whose initial shapes are the mean shape under random similarity
perturbations (standing in for the paper's detector-offset sampling), each stage trained on the previous
stages' outputs.

Box adapter: the box squared about its centre, scaled by `box_scale`, resampled to `size` px (the same in
training and prediction); the cascade starts from the mean training shape in that frame.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from redbench.baselines.train_frames import VAL_FRAMES, load_train_frames, validation_split
from redbench import metrics
from redbench.methods.convergence import STOP, Plateau, StopRule
from redbench.methods.cost import TrainCost
from redbench.methods.train_log import write_log
from redbench.baselines._hog import block_descriptors, cell_maps, to_gray
from redbench.baselines._model_io import load_arrays, save_arrays
from redbench.datasets.input_crop import square_crop, to_crop
from redbench.methods.protocol import StaticMethod, TrainInfo, train_data_hash
from redbench.config import param, params_hash
from redbench.landmarks import flip_points

log = logging.getLogger(__name__)

VERSION = "1"
MODEL_FILE = "sdm.npz"


@dataclass(frozen=True)
class Config:
    box_scale: float = param(1.2, min=0, max=10, exclusive_min=True)  # square box side = box_scale * max(w, h) of the face box
    size: int = param(80, min=16, max=1024)  # input size in px
    cell: int = param(8, min=2)  # HOG cell side in px; descriptors are 2x2-cell blocks (16x16 px, 36 values per point)
    stages: int = param(4, min=1, max=100)
    perturbations: int = param(2, min=1, max=100)  # initial shapes per training image
    perturb_translation: float = param(0.05, min=0, max=1)  # std of the initial shape's shift, as a fraction of `size`
    perturb_scale: float = param(0.06, min=0, max=1)  # std of log scale of the initial shape
    perturb_rotation: float = param(6.0, min=0, max=90)  # std in degrees
    ridge: float = param(0.01, min=0, exclusive_min=True)  # ridge strength, relative to the mean diagonal of X^T X
    max_frames: int = param(2000, min=1)
    flip: bool = True  # add mirrored training images
    # the shared stopping rule over stages (redbench/methods/convergence.py): `stages` caps the cascade, the
    # number of stages with the best validation NME is kept
    stop: StopRule = StopRule()

    def __post_init__(self) -> None:
        if 2 * self.cell > self.size:  # a descriptor is a 2x2-cell block around each point
            raise ValueError(f"cell: a HOG block of 2 x cell = {2 * self.cell} px must fit in the {self.size} px "
                             "input (size)")


def _features(maps: list[np.ndarray], shapes: np.ndarray, owner: np.ndarray, cell: int) -> np.ndarray:
    """[HOG at every landmark, 1] for shapes (M,68,2) on the images maps[owner[m]] -> (M, 68*36 + 1)."""
    out = np.empty((len(shapes), 68 * 36 + 1), dtype=np.float64)
    for m, (shape, i) in enumerate(zip(shapes, owner)):
        out[m, :-1] = block_descriptors(maps[i], shape, cell).ravel()
    out[:, -1] = 1.0
    return out


def _perturb(mean: np.ndarray, n: int, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """n random similarity transforms of the mean shape (68,2) about its centre -> (n,68,2)."""
    c = mean.mean(axis=0)
    s = np.exp(rng.normal(0, cfg.perturb_scale, n))
    a = np.deg2rad(rng.normal(0, cfg.perturb_rotation, n))
    t = rng.normal(0, cfg.perturb_translation * cfg.size, (n, 2))
    rot = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], -2)  # (n,2,2)
    return c + s[:, None, None] * np.einsum("nij,lj->nli", rot, mean - c) + t[:, None, :]


def ridge_solve(G: np.ndarray, XtY: np.ndarray, strength: float) -> np.ndarray:
    """argmin_W |XW - Y|^2 + lam |W|^2 from G = X^T X and X^T Y, lam = strength * mean(diag(G)).

    The last column of X is the bias and is not penalised.
    """
    from scipy.linalg import solve

    reg = np.full(len(G), strength * np.trace(G) / len(G))
    reg[-1] = 1e-9 * G[-1, -1]  # the bias: (almost) unpenalised, keeping the system positive definite
    return solve(G + np.diag(reg), XtY, assume_a="pos")


def fit(images: np.ndarray, points: np.ndarray, cfg: Config, seed: int, progress: bool = False,
        val: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Learn the cascade on inputs (N,size,size,3) uint8 with landmarks (N,68,2) in input coords; with `val`
    (inputs, landmarks) of held-out people, validate after each stage and keep the best number of stages.

    Returns the mean shape (68,2), the stage matrices (stages, 68*36+1, 136) and one log row per stage.
    """
    t0 = time.perf_counter()
    if cfg.flip:
        mirrored = flip_points(points, cfg.size)
        images, points = np.concatenate([images, images[:, :, ::-1]]), np.concatenate([points, mirrored])
    rng = np.random.default_rng(seed)
    mean = points.mean(axis=0)
    owner = np.repeat(np.arange(len(images)), cfg.perturbations)  # (M,) image of each training sample
    shapes = _perturb(mean, len(owner), cfg, rng)  # (M, 68, 2)
    target = points[owner]
    # Image chunks: HOG maps for all images at once would need N x s x s x 9 floats; each stage makes one pass,
    # applying the previous stage and accumulating the normal equations of this one.
    chunks = [np.flatnonzero((owner >= i) & (owner < i + 256)) for i in range(0, len(images), 256)]
    stages: list[np.ndarray] = []
    rows, plateau = [], Plateau(cfg.stop)
    for k in tqdm(range(cfg.stages + 1), disable=not progress, desc="sdm stages"):
        G, XtY = 0.0, 0.0
        for idx in chunks:
            first = owner[idx[0]]
            maps = [cell_maps(g, cfg.cell) for g in to_gray(images[first:owner[idx[-1]] + 1])]
            local = owner[idx] - first
            if stages:
                shapes[idx] += (_features(maps, shapes[idx], local, cfg.cell) @ stages[-1]).reshape(len(idx), 68, 2)
            if k < cfg.stages:
                X = _features(maps, shapes[idx], local, cfg.cell)
                G, XtY = G + X.T @ X, XtY + X.T @ (target[idx] - shapes[idx]).reshape(len(idx), -1)
        err = np.linalg.norm(shapes - target, axis=-1).mean()
        log.info("sdm: after %d stages, mean point error %.2f px (input %d px)", k, err, cfg.size)
        if k == cfg.stages:
            break
        stages.append(ridge_solve(G, XtY, cfg.ridge))
        value, action = float("nan"), None
        if val is not None:
            pred = SDM(cfg, mean, np.stack(stages)).predict_inputs(val[0])
            value = float(metrics.nme(pred, val[1], "inter_ocular").mean())
            action = plateau.update(value, k + 1)
        rows.append({"epoch": k + 1, "step": k + 1, "train_loss": float(err), "val_nme_inter_ocular": value,
                     "frames_seen": (k + 1) * len(owner),
                     "train_flops": (k + 1) * stage_flops(len(owner), len(images), cfg),
                     "wall_s": round(time.perf_counter() - t0, 1), "stop": action})
        if action == STOP:
            break
    keep = plateau.best_at + 1 if val is not None else len(stages)
    return mean, np.stack(stages[:keep]).astype(np.float32), rows


def stage_flops(n_samples: int, n_images: int, cfg: Config) -> float:
    """Estimated FLOPs of one training stage (no network to count): HOG cell maps of every image (~30 per
    pixel: gradients, magnitude, orientation binning), the normal equations X^T X and X^T Y (2 M D^2 + 2 M D
    136), applying the previous stage (2 M D 136) and the Cholesky solve (D^3 / 3 + 2 D^2 136), D = 68 x 36 + 1."""
    d, m = 68 * 36 + 1, n_samples
    return 30.0 * n_images * cfg.size ** 2 + 2.0 * m * d * d + 4.0 * m * d * 136 + d ** 3 / 3 + 2.0 * d * d * 136


class SDM(StaticMethod):
    name = "sdm"

    def __init__(self, cfg: Config, mean: np.ndarray, stages: np.ndarray):
        self.cfg, self.mean, self.stages = cfg, mean, stages.astype(np.float64)

    def predict_inputs(self, images: np.ndarray) -> np.ndarray:
        """Landmarks (N,68,2) in input coords of inputs (N,size,size,3) uint8."""
        maps = [cell_maps(g, self.cfg.cell) for g in to_gray(images)]
        owner = np.arange(len(images))
        shapes = np.repeat(self.mean[None], len(images), axis=0)
        for W in self.stages:
            shapes = shapes + (_features(maps, shapes, owner, self.cfg.cell) @ W).reshape(shapes.shape)
        return shapes

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        images, affines = square_crop(crops, boxes, self.cfg.box_scale, self.cfg.size)
        return to_crop(self.predict_inputs(images), affines)


def train(cfg: Config, train_manifest: Path | list[Path], out_dir: Path, *, seed: int, val_fraction: float = 0.2,
          resume: bool = False, progress: bool = False) -> None:
    """The shared protocol: trained on the training people, the stage count chosen on the people RED validates
    on (train_frames.validation_split); train_log.csv, metrics.json and the cost beside the model."""
    t0 = time.perf_counter()
    train_ids, val_ids = validation_split(train_manifest, val_fraction)
    frames = load_train_frames(train_manifest, cfg.max_frames, seed, cfg.box_scale, cfg.size, progress,
                               identities=train_ids if val_ids else None)
    val = None
    if val_ids:
        held = load_train_frames(train_manifest, VAL_FRAMES, 0, cfg.box_scale, cfg.size, identities=val_ids)
        val = (held.images, held.points)
    mean, stages, rows = fit(frames.images, frames.points, cfg, seed, progress, val)
    out_dir = Path(out_dir)
    save_arrays(out_dir / MODEL_FILE, mean=mean, stages=stages)
    last = rows[-1]
    stopped = "plateau" if last["stop"] == STOP else ("budget" if cfg.stop.patience == 0 else "cap")
    cost = TrainCost(steps=last["step"], frames_seen=last["frames_seen"], wall_s=last["wall_s"], threads=1,
                     flops=float(last["train_flops"]), stopped=stopped, extra={"stages_kept": len(stages)},
                     flops_source="estimated: operation counts of HOG and the ridge regressions (sdm.stage_flops)")
    write_log(out_dir, rows, cost)
    TrainInfo("sdm", VERSION, params_hash(dataclasses.asdict(cfg)), train_data_hash(train_manifest),
              len(frames.images), time.perf_counter() - t0, seed, cost.as_dict()).write(out_dir)


def load(model_dir: Path | None, cfg: Config) -> SDM:
    path = Path(model_dir or ".") / MODEL_FILE
    arrays = load_arrays(path, ("mean", "stages"), "sdm")
    want = (68 * 36 + 1, 136)
    if arrays["stages"].shape[1:] != want:
        raise ValueError(f"{path}: stage matrices {arrays['stages'].shape[1:]} do not match the config "
                         f"(expected {want}); retrain or fix methods.sdm")
    return SDM(cfg, arrays["mean"], arrays["stages"])
