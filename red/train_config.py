"""RED's training settings (params methods.red.train): a config of its own, so that the method's Config, and
with it every prediction, does not import the training code (red/train.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redbench.config import param
from redbench.methods.convergence import StopRule
from redbench.red.losses import LossWeights


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = param(12, min=1)
    passes_per_epoch: int = param(8, min=1)  # passes over the training clips per epoch (a fresh random window each pass)
    batch_clips: int = param(4, min=1)  # global batch in clips (split across ranks)
    lr: float = param(3e-3, min=0, max=10, exclusive_min=True)
    weight_decay: float = param(1e-4, min=0)
    warmup_steps: int = param(10, min=0)
    grad_clip: float = param(5.0, min=0, exclusive_min=True)
    feedback_noise: float = param(0.02, min=0, max=1)  # std of the noise on the previous-frame feedback, in units of the input side
    checkpoint_every: int = param(20, min=0)  # steps (0: none between); also at every epoch end
    val_frames_per_clip: int = param(50, min=0)  # first frames of each held-out clip (0: whole clips)
    num_workers: int = param(0, min=0, max=64)
    # torch CPU threads in this process (0: torch's default, the number of cores; a fixed number keeps the bits of
    # torch.cpu_kernels portable across core counts; 1 is far faster on a busy machine)
    threads: int = param(2, min=0, max=256)
    loss: LossWeights = LossWeights()
    stop: StopRule = StopRule()  # the shared stopping rule (redbench/methods/convergence.py); `epochs` caps it
    # Temporal training and stability options (docs/red.md measures each on validation; off = the paper-era
    # default run). tbptt > 0: each window runs in chunks of this many frames, the LSTM state and C_id's running
    # sum carried (detached) from chunk to chunk, so a window longer than memory allows still trains on the
    # horizon that online inference runs.
    tbptt: int = param(0, min=0)
    accumulate: int = param(1, min=1)  # batches per optimiser step (effective batch = batch_clips x accumulate)
    ema: float = param(0.0, min=0, max=1, exclusive_max=True)  # > 0: decay of an exponential moving average of the weights, which is validated and kept
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
