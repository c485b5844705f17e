"""One training protocol for every learned method: the stopping rule and the convergence test.

Every learned method validates on the same held-out people (params `train.val_fraction`, split seed 0), at
the end of each of its epochs (RED, the CNNs) or stages (SDM). With `patience` > 0 training stops on a
validation plateau: after `patience` evaluations without a relative improvement of `min_delta`, the learning
rate is multiplied by `decay_factor`; after `lr_decays` such decays the next plateau stops training, and
`max_evals` (the method's epochs) caps it. With `tail` > 0 that stop also needs the convergence test
(`converged`: the best value of the last `tail` of the steps improved on the best before it by less than
`tail_delta`); until it holds, training goes on at the last learning rate (or to the cap), so every run that
stops on the rule has converged by the test the reference run reports. The weights of the best evaluation are
the ones kept. With `patience` 0 the method trains its fixed budget (the CPU default run) and still keeps its
best evaluation.

The cost record is cost.py's, the training log (train_log.csv, metrics.json) train_log.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

IMPROVED, WAIT, DECAY, STOP = "improved", "wait", "decay", "stop"


@dataclass(frozen=True)
class StopRule:
    patience: int = 0  # evaluations without improvement before a decay / the stop; 0: train the fixed budget
    min_delta: float = 0.01  # relative improvement of the validation NME that counts as one
    lr_decays: int = 1  # learning-rate decays at plateaus before the next plateau stops training
    decay_factor: float = 0.3
    tail: float = 0.0  # > 0: a plateau stops training only once `converged(tail, tail_delta)` holds too
    tail_delta: float = 0.02

    def __post_init__(self) -> None:
        if self.patience < 0 or self.lr_decays < 0:
            raise ValueError(f"patience and lr_decays must be >= 0, got {self.patience}, {self.lr_decays}")
        if not 0 <= self.min_delta < 1:
            raise ValueError(f"min_delta must be in [0, 1), got {self.min_delta}")
        if not 0 < self.decay_factor <= 1:
            raise ValueError(f"decay_factor must be in (0, 1], got {self.decay_factor}")
        if not 0 <= self.tail < 1 or not 0 <= self.tail_delta < 1:
            raise ValueError(f"tail and tail_delta must be in [0, 1), got {self.tail}, {self.tail_delta}")


# StopRule fields that only lengthen a run: a run made without the convergence condition (tail 0) is, up to its
# stop, the run with it (the two rules decide alike until the first plateau stop), so it may be continued.
EXTENDING_FIELDS = ("tail", "tail_delta")


def extends(saved: dict, now: dict) -> bool:
    """Whether a run under stop rule `saved` (StopRule fields; missing ones: made before they existed) is an
    earlier stop of the run under `now`: the same rule but for the convergence condition, which `saved` lacks."""
    if saved.get("tail", 0.0) != 0.0:
        return False
    return all(saved.get(k) == v for k, v in now.items() if k not in EXTENDING_FIELDS)


@dataclass
class Plateau:
    """The stopping rule's state (plain types, so it goes into a checkpoint and back: `state` / `from_state`)."""

    rule: StopRule
    best: float = math.inf
    best_at: int = -1  # index of the best evaluation
    since_best: int = 0  # evaluations since the last improvement (or the last decay)
    decays: int = 0
    evals: int = 0
    history: list = field(default_factory=list)  # [step, value] of every evaluation, for the convergence test

    def update(self, value: float, step: int) -> str:
        """Record the validation NME after `step` training steps; returns IMPROVED, WAIT, DECAY (multiply the
        lr) or STOP."""
        index, self.evals = self.evals, self.evals + 1
        self.history.append([step, value])
        if value < self.best * (1 - self.rule.min_delta) or self.best_at < 0:
            self.best, self.best_at, self.since_best = value, index, 0
            return IMPROVED
        if value < self.best:  # better, but by less than min_delta: keep the weights, still a plateau step
            self.best, self.best_at = value, index
        self.since_best += 1
        if self.rule.patience == 0 or self.since_best < self.rule.patience:
            return WAIT
        if self.decays < self.rule.lr_decays:
            self.decays, self.since_best = self.decays + 1, 0
            return DECAY
        return STOP if self.tail_converged() else WAIT

    def tail_converged(self) -> bool:
        """The rule's convergence condition on the evaluations so far (always true without one)."""
        if self.rule.tail == 0:
            return True
        finite = [(s, v) for s, v in self.history if math.isfinite(v)]
        return len(finite) >= 2 and converged([s for s, _ in finite], [v for _, v in finite],
                                              self.rule.tail, self.rule.tail_delta)

    @property
    def latest_is_best(self) -> bool:
        """Whether the last evaluation is the best so far: the trainers keep its weights (a gain under min_delta
        too, which the rule still counts as a plateau step)."""
        return self.evals > 0 and self.best_at == self.evals - 1

    @property
    def lr_factor(self) -> float:
        return self.rule.decay_factor ** self.decays

    def state(self) -> dict:
        return {"best": self.best, "best_at": self.best_at, "since_best": self.since_best,
                "decays": self.decays, "evals": self.evals, "history": [list(h) for h in self.history]}

    @classmethod
    def from_state(cls, rule: StopRule, state: dict, rows: Sequence[dict] = ()) -> "Plateau":
        """The state back; a state saved before `history` existed takes it from the log `rows` (step, NME)."""
        state = dict(state)
        state.setdefault("history", [[r["step"], r["val_nme_inter_ocular"]] for r in rows])
        return cls(rule, **state)


def converged(steps: Sequence[float], values: Sequence[float], tail: float = 0.2, rel: float = 0.02) -> bool:
    """Whether the best validation value of the last `tail` of training (by step) improved on the best before
    it by less than `rel` relative: the convergence test of the reference run (docs/reference_run.md)."""
    assert len(steps) == len(values) and len(steps) >= 2, "need at least two evaluations"
    cut = steps[-1] - tail * (steps[-1] - steps[0])
    before = [v for s, v in zip(steps, values) if s < cut] or [values[0]]
    return min(values) >= min(before) * (1 - rel)
