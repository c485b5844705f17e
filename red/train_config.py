"""RED's training settings (params methods.red.train): a config of its own, so that the method's Config, and
with it every prediction, does not import the training code (red/train.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redbench.methods.convergence import StopRule
from redbench.red.losses import LossWeights


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12
    passes_per_epoch: int = 8  # passes over the training clips per epoch (a fresh random window each pass)
    batch_clips: int = 4  # global batch in clips (split across ranks)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 10
    grad_clip: float = 5.0
    feedback_noise: float = 0.02  # std of the noise on the previous-frame feedback, in units of the input side
    checkpoint_every: int = 20  # steps; also at every epoch end
    val_frames_per_clip: int = 50
    num_workers: int = 0
    threads: int = 0  # torch CPU threads in this process (0: torch's default; 1 is far faster on a busy machine)
    loss: LossWeights = LossWeights()
    stop: StopRule = StopRule()  # the shared stopping rule (redbench/methods/convergence.py); `epochs` caps it
