"""What one training run cost, for the equal-compute view: steps, frames seen, wall seconds, threads and training
FLOPs, counted with torch.utils.flop_counter for networks (forward + backward of one training step, times the
steps; validation is not counted) and estimated from the algorithm's operation counts where there is no
network (SDM, ERT: each method's module says how)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable


@dataclass(frozen=True)
class TrainCost:
    """What one training run cost. flops: training FLOPs; flops_source says how they were obtained."""

    steps: int
    frames_seen: int
    wall_s: float
    threads: int
    flops: float
    flops_source: str
    device: str = "cpu"
    stopped: str = "budget"  # budget (fixed number of epochs) | plateau (the stopping rule) | cap (max epochs)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def count_flops(step: Callable[[], object]) -> float:
    """FLOPs of one call of `step` (e.g. one forward + backward), counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())
