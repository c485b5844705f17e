"""A tiny in-memory clip dataset in the loaders' sample format, for tests, DDP checks and benchmarks.

Each clip is a bright-dot face template drifting over a dark noisy background: every frame is drawn from its
landmarks, so a model can learn it, and nothing touches the disk.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


class ToyClips(Dataset):
    """n_clips clips of clip_len frames at size x size; identity = clip index % n_identities."""

    def __init__(self, n_clips: int, clip_len: int, size: int, n_identities: int = 2, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        template = rng.uniform(0.3, 0.7, (68, 2))  # (68, 2) in units of the side
        self.samples = []
        for k in range(n_clips):
            start = rng.uniform(-0.1, 0.1, 2)
            velocity = rng.uniform(-0.02, 0.02, 2)
            t = np.arange(clip_len)[:, None, None]
            pts = (template[None] + start + velocity * t) * size  # (T, 68, 2) pixels
            # a noisy background: flat regions would tie in the max-pools, and which tied element wins (so
            # where the decoder unpools) would then hang on float rounding
            images = rng.uniform(0.0, 0.3, (clip_len, 3, size, size)).astype(np.float32)
            xy = np.clip(np.round(pts).astype(int), 0, size - 1)
            for f in range(clip_len):
                images[f, :, xy[f, :, 1], xy[f, :, 0]] = 1.0
            # input -> "original" coords: a fixed scale and shift per clip, as the loaders' crops have
            to_orig = np.tile(np.array([[2.0, 0, 10.0 + k], [0, 2.0, 5.0]], np.float32), (clip_len, 1, 1))
            self.samples.append({
                "image": torch.from_numpy(images),  # (T, 3, s, s)
                "landmarks": torch.from_numpy(pts.astype(np.float32)),  # (T, 68, 2)
                "input_to_orig": torch.from_numpy(to_orig),  # (T, 2, 3)
                "occluded": torch.zeros(clip_len, 68, dtype=torch.bool),
                "identity": torch.tensor(k % n_identities),
                "clip_index": k,
                "start": 0,
            })

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        return self.samples[i]
