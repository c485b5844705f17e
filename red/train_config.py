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
    # Temporal training and stability options (docs/red.md measures each on validation; off = the paper-era
    # default run). tbptt > 0: each window runs in chunks of this many frames, the LSTM state and C_id's running
    # sum carried (detached) from chunk to chunk, so a window longer than memory allows still trains on the
    # horizon that online inference runs.
    tbptt: int = 0
    accumulate: int = 1  # batches per optimiser step (effective batch = batch_clips x accumulate)
    ema: float = 0.0  # > 0: decay of an exponential moving average of the weights, which is validated and kept
    init_seed: int | None = None  # seed of the weights' initialisation (None: the run's seed)
    data_seed: int | None = None  # seed of the data order, windows, augmentation and feedback noise (None: the run's)
    init_from: str | None = None  # a RED-static model.pt that full RED starts from (its temporal path fresh)
    precision: str = "fp32"  # fp32 | bf16: CPU autocast where the processor has bf16 (CUDA always uses bf16)
    diagnostics: bool = False  # at the end: the kept model's temporal diagnostics on validation (diagnostics.json)

    def __post_init__(self) -> None:
        if self.tbptt < 0 or self.accumulate < 1:
            raise ValueError(f"methods.red.train: tbptt must be >= 0 and accumulate >= 1, got {self.tbptt}, "
                             f"{self.accumulate}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"methods.red.train.ema must be in [0, 1), got {self.ema}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"methods.red.train.precision must be one of {PRECISIONS}, got {self.precision!r}")


PRECISIONS = ("fp32", "bf16")
