"""A positive control for temporal gain: conditions built so that using time provably helps, with an oracle
that shows the size of the gain available.

A benchmark that cannot show a temporal gain where one exists cannot claim there is none elsewhere. Each
condition is built from one frame of a real clip of the data (its context crop, gt box and landmarks), so the
head holds perfectly still and the truth is known on every frame:

- `still_occluded`: the face is seen for `occlude_from` frames (each with light sensor noise), then a flat
  occluder covers the whole face box for the rest. A static method sees no face on the occluded frames; the
  oracle holds a static method's last unoccluded prediction (the head did not move, so that is what a
  perfect temporal memory would output).
- `still_noisy`: every frame carries strong independent pixel noise. The oracle runs the static method on the
  causal running mean of the frames so far, where the noise averages out.

Scored frames: the occluded ones (still_occluded), frames from `settle` on (still_noisy). NME inter-ocular,
68 points, on the clip's own crop coordinates (the gt box is given on every frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from redbench.benchmark import metrics
from redbench.methods.protocol import Method

CONDITIONS = ("still_occluded", "still_noisy")


@dataclass(frozen=True)
class ControlConfig:
    frames: int = 60  # frames per control clip
    occlude_from: int = 20  # still_occluded: first occluded frame
    occluder_margin: float = 0.15  # the occluder covers the gt box grown by this fraction of its side
    sensor_noise: float = 2.0  # pixel noise sd (grey levels) on every frame of still_occluded
    heavy_noise: float = 60.0  # still_noisy: pixel noise sd (grey levels)
    settle: int = 10  # still_noisy: frames before scoring starts (the running mean needs a few)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.occlude_from < self.frames or not 0 <= self.settle < self.frames:
            raise ValueError(f"control: need 0 < occlude_from < frames and 0 <= settle < frames, got {self}")


@dataclass(frozen=True)
class ControlClip:
    crops: np.ndarray  # (T, S, S, 3) uint8
    boxes: np.ndarray  # (T, 4) crop coords
    landmarks: np.ndarray  # (T, 68, 2) crop coords (the truth, the same on every frame)
    scored: np.ndarray  # (T,) bool


def make_clip(crop: np.ndarray, box: np.ndarray, landmarks: np.ndarray, condition: str, cfg: ControlConfig,
              rng: np.random.Generator) -> ControlClip:
    """A still control clip from one frame: crop (S, S, 3) uint8, box (4,) x0 y0 x1 y1, landmarks (68, 2)."""
    t = cfg.frames
    base = np.broadcast_to(crop.astype(np.float32), (t, *crop.shape))
    scored = np.zeros(t, bool)
    if condition == "still_occluded":
        frames = base + rng.normal(0.0, cfg.sensor_noise, base.shape)
        x0, y0, x1, y1 = box
        m = cfg.occluder_margin * max(x1 - x0, y1 - y0)
        r0, r1 = int(max(0, np.floor(y0 - m))), int(min(crop.shape[0], np.ceil(y1 + m)))
        c0, c1 = int(max(0, np.floor(x0 - m))), int(min(crop.shape[1], np.ceil(x1 + m)))
        frames[cfg.occlude_from:, r0:r1, c0:c1] = 128.0  # a flat grey occluder over the whole face
        scored[cfg.occlude_from:] = True
    elif condition == "still_noisy":
        frames = base + rng.normal(0.0, cfg.heavy_noise, base.shape)
        scored[cfg.settle:] = True
    else:
        raise ValueError(f"unknown control condition {condition!r}; known: {CONDITIONS}")
    crops = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    return ControlClip(crops, np.tile(np.asarray(box, np.float64), (t, 1)),
                       np.tile(np.asarray(landmarks, np.float64), (t, 1, 1)), scored)


def oracle(static: Method, clip: ControlClip, condition: str, cfg: ControlConfig) -> np.ndarray:
    """The oracle's (T, 68, 2) predictions from a static method (see the module docstring)."""
    if condition == "still_occluded":
        pred = static.predict_clip(clip.crops, clip.boxes, tracking=False)
        pred[cfg.occlude_from:] = pred[cfg.occlude_from - 1]  # hold the last unoccluded prediction
        return pred
    running = np.cumsum(clip.crops.astype(np.float64), axis=0) / np.arange(1, len(clip.crops) + 1)[:, None, None, None]
    return static.predict_clip(np.rint(running).astype(np.uint8), clip.boxes, tracking=False)


def run_control(methods: Mapping[str, Method], oracle_of: Method, sources: Sequence[tuple], condition: str,
                cfg: ControlConfig = ControlConfig()) -> dict[str, float]:
    """Mean NME (inter-ocular, 68 points) over the scored frames of one control clip per source frame
    (crop, box, landmarks), for every method and for the oracle built on `oracle_of` (key "oracle")."""
    rng = np.random.default_rng([cfg.seed, CONDITIONS.index(condition)])
    clips = [make_clip(*src, condition, cfg, rng) for src in sources]
    errors: dict[str, list[np.ndarray]] = {name: [] for name in [*methods, "oracle"]}
    for clip in clips:
        preds = {name: m.predict_clip(clip.crops, clip.boxes, tracking=False) for name, m in methods.items()}
        preds["oracle"] = oracle(oracle_of, clip, condition, cfg)
        for name, pred in preds.items():
            errors[name].append(metrics.nme(pred[clip.scored], clip.landmarks[clip.scored], "inter_ocular"))
    return {name: float(np.concatenate(e).mean()) for name, e in errors.items()}


def source_frames(shard_paths: Sequence, identities: set[str] | None = None, frame: int = 0) -> list[tuple]:
    """(crop, gt box, landmarks) of frame `frame` of every clip (of these identities) in the shards."""
    from redbench.datasets.shards import ShardReader

    out = []
    for path in shard_paths:
        with ShardReader(path) as r:
            for i, c in enumerate(r.clips):
                if identities is not None and c.identity_name not in identities:
                    continue
                a = r.read_clip(i, frame, frame + 1, fields=("crops", "landmarks", "boxes/gt"))
                out.append((a["crops"][0], a["boxes/gt"][0].astype(np.float64), a["landmarks"][0].astype(np.float64)))
    return out
