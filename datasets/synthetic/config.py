"""SyntheticConfig: the seed and sizes of the generated stand-in datasets (params.yaml section `synthetic:`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from redbench.config import param


@dataclass(frozen=True)
class SyntheticConfig:
    seed: int = param(0, min=0)
    frame_width: int = 256
    frame_height: int = 192
    # Face height in pixels = landmark box height (brow top to chin), drawn uniformly per video / still.
    face_height_min: float = 56.0
    face_height_max: float = 96.0
    # Identity pools; training and test identities are disjoint (TF's one person is a third, separate one).
    n_identities_train: int = 50
    n_identities_test: int = 16
    # 300-VW: how many of the real video ids to generate (the first n of each list, in the real order); past a
    # category's real ids, the reserved synthetic ids 9<category><k> (up to 10 more: splits.VW300_SYNTHETIC_EXTRA).
    vw_train_videos: int = param(50, min=0)
    vw_test_videos_per_category: int = param(6, min=0)
    vw_frames: int = param(100, min=1)
    fps: float = param(25.0, min=0, exclusive_min=True)
    # 300-W stills per subset folder.
    w300_afw: int = param(30, min=0)
    w300_helen_train: int = param(90, min=0)
    w300_lfpw_train: int = param(60, min=0)
    w300_helen_test: int = param(30, min=0)
    w300_lfpw_test: int = param(20, min=0)
    w300_ibug: int = param(20, min=0)
    tf_frames: int = param(300, min=0)
    # Difficulty mix of training videos over categories 1, 2, 3 (300-VW training videos mix all).
    train_mix: tuple[float, float, float] = (0.4, 0.35, 0.25)
    jpeg_quality: int = 90
    # Load-test factor: multiplies frames per video, stills and video counts (video counts cap at the real ids + 10 reserved per category).
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.frame_width < 64 or self.frame_height < 64:
            raise ValueError(f"frame size {self.frame_width}x{self.frame_height} is below 64x64")
        if not 0 < self.face_height_min <= self.face_height_max:
            raise ValueError("need 0 < face_height_min <= face_height_max")
        # The head (hair, ears) spans ~ 1.6 face heights vertically and ~ 1.45 horizontally.
        if self.face_height_max > min(self.frame_height / 1.6, self.frame_width / 1.5):
            raise ValueError(f"face_height_max {self.face_height_max} does not fit a "
                             f"{self.frame_width}x{self.frame_height} frame")
        if self.n_identities_train < 1 or self.n_identities_test < 1:
            raise ValueError("need at least one training and one test identity")
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if len(self.train_mix) != 3 or min(self.train_mix) < 0 or sum(self.train_mix) <= 0:
            raise ValueError(f"train_mix must be 3 non-negative weights, got {self.train_mix}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    def scaled(self, n: int) -> int:
        """A count times `scale` (at least 1 where n >= 1)."""
        return 0 if n <= 0 else max(1, round(n * self.scale))

    @classmethod
    def micro(cls, seed: int = 0, **overrides: object) -> "SyntheticConfig":
        """A tiny preset for tests: a few short videos and stills at a small frame size."""
        base = dict(seed=seed, frame_width=128, frame_height=96, face_height_min=36.0, face_height_max=52.0,
                    n_identities_train=3, n_identities_test=3, vw_train_videos=2, vw_test_videos_per_category=1,
                    vw_frames=8, w300_afw=1, w300_helen_train=1, w300_lfpw_train=1, w300_helen_test=1,
                    w300_lfpw_test=1, w300_ibug=1, tf_frames=6)
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> "SyntheticConfig":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
