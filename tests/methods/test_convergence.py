"""The shared stopping rule, the convergence test and the FLOP counter (redbench/methods/convergence.py)."""

import pytest
import torch

from redbench.methods.convergence import (DECAY, IMPROVED, STOP, WAIT, Plateau, StopRule, converged,
                                          count_flops)


def test_plateau_decays_then_stops_and_keeps_the_best():
    rule = StopRule(patience=2, min_delta=0.01, lr_decays=1, decay_factor=0.5)
    p = Plateau(rule)
    actions = [p.update(v) for v in (0.30, 0.20, 0.199, 0.25, 0.19, 0.21, 0.22)]
    # 0.199 is better but by < 1 %: a plateau step that still moves the best; 0.19 is a real improvement
    assert actions == [IMPROVED, IMPROVED, WAIT, DECAY, IMPROVED, WAIT, STOP]
    assert p.best == 0.19 and p.best_at == 4 and p.lr_factor == 0.5


def test_patience_zero_never_stops():
    p = Plateau(StopRule(patience=0))
    assert [p.update(v) for v in (0.3, 0.4, 0.5, 0.6)] == [IMPROVED, WAIT, WAIT, WAIT]
    assert p.lr_factor == 1.0


def test_plateau_state_round_trips():
    rule = StopRule(patience=1)
    p = Plateau(rule)
    for v in (0.3, 0.31):
        p.update(v)
    q = Plateau.from_state(rule, p.state())
    assert q.update(0.32) == p.update(0.32) == STOP


@pytest.mark.parametrize("bad", [dict(patience=-1), dict(min_delta=1.0), dict(decay_factor=0.0)])
def test_stop_rule_refuses_bad_values(bad):
    with pytest.raises(ValueError):
        StopRule(**bad)


def test_converged_compares_the_last_fifth_with_what_came_before():
    steps = list(range(0, 100, 10))  # 0 .. 90: the last 20 % is steps > 72
    flat = [0.5, 0.3, 0.25, 0.22, 0.21, 0.205, 0.204, 0.203, 0.202, 0.201]
    assert converged(steps, flat)  # 0.201 vs 0.203: 1 % better
    falling = flat[:8] + [0.19, 0.18]  # 0.18 vs 0.203: 11 % better
    assert not converged(steps, falling)


def test_count_flops_counts_a_linear_forward_and_backward():
    lin = torch.nn.Linear(10, 20, bias=False)
    x = torch.randn(4, 10)
    fwd = count_flops(lambda: lin(x))
    assert fwd == 2 * 4 * 10 * 20
    both = count_flops(lambda: lin(x).sum().backward())
    assert both == 2 * fwd  # weight gradient only (x needs none): one more matmul of the same size
