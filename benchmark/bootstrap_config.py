"""params compare.bootstrap: read by the clip bootstrap (aggregate.py) and by its moving-block fallback within
clips (block_bootstrap.py), so it sits below both."""

from __future__ import annotations

from dataclasses import dataclass

from redbench.config import param


@dataclass(frozen=True)
class BootstrapConfig:
    resamples: int = param(1000, min=0)  # 0: no intervals (every ci is [null, null])
    ci: float = param(0.95, min=0, max=1, exclusive_min=True, exclusive_max=True)
    seed: int = param(0, min=0)
    block: int = param(0, min=0)  # resamples per block; 0 = about 2e6 clip weights per block (16 MB as float64)
    # Fewer clips than this: moving-block bootstrap of frames within each clip. 5 clips give 126 distinct
    # clip resamples; fewer leave the percentile interval to a handful of resamples (1 clip: zero width).
    min_clips: int = param(5, min=1)
    frame_block_length: int = param(0, min=0)  # block length in frames; 0 = Politis & White's rule per quantity

    def __post_init__(self) -> None:
        if not 0 < self.ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {self.ci}")
        if self.min_clips < 1 or self.frame_block_length < 0:
            raise ValueError(f"min_clips must be >= 1 and frame_block_length >= 0, got {self.min_clips}, "
                             f"{self.frame_block_length}")
