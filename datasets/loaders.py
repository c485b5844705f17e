"""torch Datasets over HDF5 clip shards: clips of T consecutive frames (temporal methods), single frames (static).

A sample is the model-input crop of the chosen face box (squared, x box_scale, resized to input_size) with
landmarks in input coordinates and the `input_to_orig` affine. Augmentation draws one transform per sample
and applies it to every frame of the clip, so the motion between frames is kept. Images stay uint8 through
the DataLoader; the consumer makes the float model input, colour jitter included, with `finish_images`. Each
DataLoader worker opens its own HDF5 handles lazily (an open h5py file must never be pickled into a worker).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Sequence

import numpy as np
import torch

from redbench.datasets.boxes import require_boxes
from redbench.datasets.input_crop import crop_affines
from redbench.datasets.geometry import apply_affine, compose_affine, invert_affine, warp
from redbench.datasets.shards import BOX_NAMES, ShardReader
from redbench.landmarks import flip_permutation, flip_points

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip (landmarks relabelled left/right)
    rotate_deg: float = 10.0  # rotation uniform in [-rotate_deg, rotate_deg] about the input centre
    scale: float = 0.05  # relative scale uniform in [1 - scale, 1 + scale]
    shift: float = 0.05  # shift uniform in [-shift, shift] x input_size, per axis
    brightness: float = 0.2  # factors uniform in [1 - b, 1 + b]
    contrast: float = 0.2
    saturation: float = 0.2


def split_by_identity(identity_names: Sequence[str], val_fraction: float,
                      seed: int) -> tuple[frozenset[str], frozenset[str]]:
    """Split identities (not clips) into (train, validation) sets, so no person is in both.

    round(val_fraction * K) of the K distinct identities go to validation (at least one when val_fraction > 0
    and K >= 2), chosen by a seeded permutation of the sorted names: the split depends only on the names.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    names = sorted(set(identity_names))
    n_val = int(round(val_fraction * len(names)))
    if val_fraction > 0 and len(names) >= 2:
        n_val = min(max(n_val, 1), len(names) - 1)
    order = np.random.default_rng(seed).permutation(len(names))
    val = frozenset(names[i] for i in order[:n_val])
    return frozenset(names) - val, val


def _augment_affine(rng: np.random.Generator, cfg: AugmentConfig, size: int) -> np.ndarray:
    """A (2, 3) rotation/scale about the input centre plus a shift, in input pixel coords."""
    theta = np.radians(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    s = rng.uniform(1 - cfg.scale, 1 + cfg.scale)
    m = s * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    c = np.full(2, (size - 1) / 2)
    t = c - m @ c + rng.uniform(-cfg.shift, cfg.shift, 2) * size
    return np.concatenate([m, t[:, None]], axis=1)


def _draw_colour(rng: np.random.Generator, cfg: AugmentConfig) -> torch.Tensor:
    """Brightness, contrast, saturation factors (3,), drawn once per clip; float64 holds the drawn floats exactly."""
    return torch.tensor([rng.uniform(1 - v, 1 + v) for v in (cfg.brightness, cfg.contrast, cfg.saturation)],
                        dtype=torch.float64)


def _colour_jitter(images: torch.Tensor, factors: Sequence[float]) -> torch.Tensor:
    """Brightness, contrast, saturation factors applied in place to every frame of (T, 3, s, s) in [0, 1]."""
    b, c, s = factors
    images = images.mul_(b)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = images.sub_(mean).mul_(c).add_(mean)
    luma = torch.tensor([0.299, 0.587, 0.114], device=images.device)
    gray = torch.einsum("tchw,c->thw", images, luma).unsqueeze(1)
    images = images.sub_(gray).mul_(s).add_(gray)
    return images.clamp_(0.0, 1.0)


def _unit_float(image: torch.Tensor, memory_format: torch.memory_format = torch.preserve_format) -> torch.Tensor:
    """uint8 -> float32 x / 255, correctly rounded on any device."""
    # Divide by a tensor, not a Python number: CUDA multiplies by the reciprocal of a number, which rounds
    # differently from the CPU's division.
    return image.to(torch.float32, memory_format=memory_format).div_(torch.full((), 255.0, device=image.device))


def finish_images(image: torch.Tensor, colour: torch.Tensor | None) -> torch.Tensor:
    """The float32 images in [0, 1] the models take, from a sample's or a collated batch's `image` and `colour`.

    The loaders hand images over as uint8 (a quarter of float32's bytes through the DataLoader's worker pipes
    and to the device) with the colour-jitter factors drawn in the worker (`colour`, absent without
    augmentation): call this on the consumer's side, after `.to(device)`. Shapes: image (*lead, [T,] 3, s, s)
    with colour (*lead, 3), lead () for a sample and (B,) for a batch (default_collate or pad_collate, whose
    zero-padded frames stay zero). Each clip is jittered with its own factors by the same ops, in the same
    memory layout, as the workers used to, so CPU results are bit-identical to theirs; one exception: torch
    splits a mean over >= 32768 values across threads, so a one-frame clip of >= 105 px jittered in a
    multi-threaded consumer rounds as the old num_workers=0 path did, not as a one-threaded worker did.
    Float images (in-memory datasets such as red.toy.ToyClips) are already finished and come back as they are.
    """
    if image.is_floating_point():
        if colour is not None:
            raise ValueError("colour factors for float images: only uint8 images from the loaders are jittered here")
        return image
    if colour is None:
        return _unit_float(image)
    if colour.shape[:-1] != image.shape[:colour.ndim - 1]:
        raise ValueError(f"colour {tuple(colour.shape)} does not match the clips of image {tuple(image.shape)}")
    # The jitter's means sum in memory order, so their rounding depends on the layout: convert into channels-last
    # memory, the crops' layout in which the workers jittered, whatever layout collate made.
    image = _unit_float(image.movedim(-3, -1), torch.contiguous_format).movedim(-1, -3)
    factors = colour.reshape(-1, 3).tolist()  # exact Python floats, one host read per batch
    clips = image.view(len(factors), -1, *image.shape[-3:])  # (N, T, 3, s, s), T = 1 for single frames
    for clip, f in zip(clips, factors):
        _colour_jitter(clip, f)  # in place, on a view of `image`
    return image


_PER_CLIP = ("colour",)  # sample tensors without a time axis (FrameDataset keeps them whole, pad_collate stacks)


class _ShardSamples(torch.utils.data.Dataset):
    """Clip index over shards and the crop/augment step shared by ClipDataset and FrameDataset."""

    _FIELDS = ("crops", "landmarks", "crop_to_orig", "occluded", "frame_index")

    def __init__(self, paths: Sequence[str | os.PathLike], input_size: int, box: str, box_scale: float,
                 train: bool, augment: AugmentConfig | None, seed: int, identities: Collection[str] | None):
        if box not in BOX_NAMES:
            raise ValueError(f"box must be one of {BOX_NAMES} (tracking starts from boxes['gt'][0]), got {box!r}")
        self.paths = [Path(p) for p in paths]
        self.input_size, self.box, self.box_scale = input_size, box, box_scale
        self.train, self.augment, self.seed = train, augment if train else None, seed
        self.epoch = 0
        # (path index, clip index in shard, n_frames, clip_id, identity name) for every clip in the shards
        self.clips: list[tuple[int, int, int, str, str]] = []
        for pi, path in enumerate(self.paths):
            with ShardReader(path) as r:
                self.clips += [(pi, ci, c.n_frames, c.clip_id, c.identity_name) for ci, c in enumerate(r.clips)]
        # Contiguous identity classes over all given shards (before filtering, so train/val agree).
        self.identity_names = sorted({c[4] for c in self.clips})
        self._identity = {n: i for i, n in enumerate(self.identity_names)}
        if identities is not None:
            self.clips = [c for c in self.clips if c[4] in identities]
        self._readers: dict[int, ShardReader] = {}
        self._pid = os.getpid()

    def set_epoch(self, epoch: int) -> None:
        """Training windows and augmentations are drawn from (seed, epoch, item): call once per epoch."""
        self.epoch = epoch

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_readers"] = {}  # never pickle open h5py handles; each worker reopens its own
        return state

    def _reader(self, pi: int) -> ShardReader:
        if self._pid != os.getpid():  # forked after opening: handles are not shareable across processes
            self._readers, self._pid = {}, os.getpid()
        if pi not in self._readers:
            self._readers[pi] = ShardReader(self.paths[pi])
        return self._readers[pi]

    def _rng(self, item: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, item])

    def _sample(self, pi: int, ci: int, start: int, stop: int, rng: np.random.Generator) -> dict[str, Any]:
        reader = self._reader(pi)
        a = reader.read_clip(ci, start, stop, fields=(*self._FIELDS, f"boxes/{self.box}"))
        require_boxes(a[f"boxes/{self.box}"], self.box, f"{reader.path}: clip {reader.clips[ci].clip_id!r}")
        s = self.input_size
        # the crop adapter of the methods' prediction (input_crop.square_crop), so training sees the same inputs
        to_input = crop_affines(a[f"boxes/{self.box}"], self.box_scale, s)
        landmarks = apply_affine(a["landmarks"], to_input)  # (T, 68, 2)
        occluded = a["occluded"]
        flip = False
        if self.augment is not None:
            aug = _augment_affine(rng, self.augment, s)
            to_input = compose_affine(aug, to_input)
            landmarks = apply_affine(a["landmarks"], to_input)
            flip = bool(rng.random() < self.augment.flip)
            if flip:
                landmarks = flip_points(landmarks, s)
                occluded = occluded[:, flip_permutation()]
                to_input = compose_affine(np.array([[-1.0, 0.0, s - 1.0], [0.0, 1.0, 0.0]]), to_input)
        images = np.stack([warp(c, A, s) for c, A in zip(a["crops"], to_input)])  # (T, s, s, 3) uint8
        input_to_orig = compose_affine(a["crop_to_orig"], invert_affine(to_input))
        sample = {
            # uint8 (T, 3, s, s) over the crops' channels-last memory (no copy); the consumer converts it
            # (finish_images), so workers hand over a quarter of float32's bytes
            "image": torch.from_numpy(images).permute(0, 3, 1, 2),
            "landmarks": torch.from_numpy(landmarks.astype(np.float32)),  # (T, 68, 2) input coords
            "input_to_orig": torch.from_numpy(input_to_orig.astype(np.float32)),  # (T, 2, 3)
            "occluded": torch.from_numpy(np.ascontiguousarray(occluded)),  # (T, 68)
            "frame_index": torch.from_numpy(a["frame_index"].astype(np.int64)),  # (T,)
            "flipped": flip,
        }
        if self.augment is not None:  # drawn here, after the geometry, and applied by finish_images
            sample["colour"] = _draw_colour(rng, self.augment)  # (3,)
        return sample


class ClipDataset(_ShardSamples):
    """Clips of `clip_len` consecutive frames: a random window per clip for training, whole clips for eval.

    Training skips clips shorter than clip_len. Eval (train=False) yields each clip whole, in order, so T
    varies: use batch_size=1 or `pad_collate`. `identities` restricts to clips of those people (see
    split_by_identity); `identity` in a sample indexes `identity_names` (all identities of the shards).
    """

    def __init__(self, paths: Sequence[str | os.PathLike], clip_len: int, input_size: int, box: str = "gt",
                 box_scale: float = 1.0, train: bool = True, augment: AugmentConfig | None = None, seed: int = 0,
                 identities: Collection[str] | None = None):
        super().__init__(paths, input_size, box, box_scale, train, augment, seed, identities)
        self.clip_len = clip_len
        if train:
            short = [c for c in self.clips if c[2] < clip_len]
            if short:
                log.warning("skipping %d clip(s) shorter than clip_len=%d", len(short), clip_len)
            self.clips = [c for c in self.clips if c[2] >= clip_len]

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict[str, Any]:
        pi, ci, n, _, name = self.clips[i]
        rng = self._rng(i)
        start = int(rng.integers(0, n - self.clip_len + 1)) if self.train else 0
        stop = start + self.clip_len if self.train else n
        sample = self._sample(pi, ci, start, stop, rng)
        sample.update(identity=torch.tensor(self._identity[name], dtype=torch.int64), clip_index=i, start=start)
        return sample


class FrameDataset(_ShardSamples):
    """Single frames for static methods: every frame of every clip (in order when train=False)."""

    def __init__(self, paths: Sequence[str | os.PathLike], input_size: int, box: str = "gt",
                 box_scale: float = 1.0, train: bool = True, augment: AugmentConfig | None = None, seed: int = 0,
                 identities: Collection[str] | None = None):
        super().__init__(paths, input_size, box, box_scale, train, augment, seed, identities)
        n = np.array([c[2] for c in self.clips], dtype=np.int64)
        self._clip_of_frame = np.repeat(np.arange(len(self.clips)), n)  # (N,)
        self._start_of_clip = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)

    def __len__(self) -> int:
        return len(self._clip_of_frame)

    def __getitem__(self, i: int) -> dict[str, Any]:
        k = int(self._clip_of_frame[i])
        pi, ci, _, _, name = self.clips[k]
        t = i - int(self._start_of_clip[k])
        sample = self._sample(pi, ci, t, t + 1, self._rng(i))
        sample = {key: v[0] if isinstance(v, torch.Tensor) and key not in _PER_CLIP else v
                  for key, v in sample.items()}
        sample.update(identity=torch.tensor(self._identity[name], dtype=torch.int64), clip_index=k, start=t)
        return sample


def pad_collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate clips of different lengths: pad the time axis to the longest with zeros, add `mask` (B, T)."""
    t_max = max(len(b["image"]) for b in batch)
    out: dict[str, Any] = {}
    for key, v in batch[0].items():
        if key in _PER_CLIP:
            out[key] = torch.stack([b[key] for b in batch])
        elif isinstance(v, torch.Tensor) and v.ndim >= 1 and key != "identity":
            padded = []
            for b in batch:
                x = b[key]
                pad = torch.zeros((t_max - len(x), *x.shape[1:]), dtype=x.dtype)
                padded.append(torch.cat([x, pad]))
            out[key] = torch.stack(padded)
        else:
            out[key] = torch.as_tensor([b[key] for b in batch])
    out["mask"] = torch.stack([torch.arange(t_max) < len(b["image"]) for b in batch])
    return out
