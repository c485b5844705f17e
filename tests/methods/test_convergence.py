"""The shared stopping rule, the convergence test (redbench/methods/convergence.py) and the FLOP counter
(redbench/methods/cost.py)."""

import dataclasses

import pytest
import torch

from redbench.methods.convergence import DECAY, IMPROVED, STOP, WAIT, Plateau, StopRule, converged, extends
from redbench.methods.cost import count_flops


def test_plateau_decays_then_stops_and_keeps_the_best():
    rule = StopRule(patience=2, min_delta=0.01, lr_decays=1, decay_factor=0.5)
    p = Plateau(rule)
    actions = [p.update(v, i + 1) for i, v in enumerate((0.30, 0.20, 0.199, 0.25, 0.19, 0.21, 0.22))]
    # 0.199 is better but by < 1 %: a plateau step that still moves the best; 0.19 is a real improvement
    assert actions == [IMPROVED, IMPROVED, WAIT, DECAY, IMPROVED, WAIT, STOP]
    assert p.best == 0.19 and p.best_at == 4 and p.lr_factor == 0.5


def test_patience_zero_never_stops():
    p = Plateau(StopRule(patience=0))
    assert [p.update(v, i) for i, v in enumerate((0.3, 0.4, 0.5, 0.6))] == [IMPROVED, WAIT, WAIT, WAIT]
    assert p.lr_factor == 1.0


def test_plateau_state_round_trips():
    rule = StopRule(patience=1)
    p = Plateau(rule)
    for i, v in enumerate((0.3, 0.31)):
        p.update(v, i)
    q = Plateau.from_state(rule, p.state())
    assert q.update(0.32, 2) == p.update(0.32, 2) == STOP
    assert q.history == p.history == [[0, 0.3], [1, 0.31], [2, 0.32]]


def test_the_convergence_condition_holds_a_plateau_stop_until_the_tail_stops_improving():
    rule = StopRule(patience=1, min_delta=0.05, lr_decays=0, tail=0.2, tail_delta=0.02)
    values = [0.50, 0.40, 0.30, 0.29, 0.28, 0.28, 0.28]
    p = Plateau(rule)
    actions = [p.update(v, 10 * (i + 1)) for i, v in enumerate(values)]
    # 0.29 and 0.28 are plateau steps (< 5 % each), on which the rule alone stops; the tail test sees each
    # beat the best before the last fifth of the steps by > 2 % and waits until 0.28 is older than that fifth
    assert actions == [IMPROVED, IMPROVED, IMPROVED, WAIT, WAIT, WAIT, STOP]
    plain = Plateau(StopRule(patience=1, min_delta=0.05, lr_decays=0))
    assert [plain.update(v, 10 * (i + 1)) for i, v in enumerate(values[:4])] == [IMPROVED, IMPROVED, IMPROVED, STOP]
    steps, vals = zip(*p.history)
    assert converged(steps, vals) and not converged(steps[:6], vals[:6])


def test_an_old_state_takes_its_history_from_the_log():
    rule = StopRule(patience=1, tail=0.2)
    rows = [{"step": 4, "val_nme_inter_ocular": 0.3}, {"step": 8, "val_nme_inter_ocular": 0.2}]
    old = {"best": 0.2, "best_at": 1, "since_best": 0, "decays": 0, "evals": 2}
    assert Plateau.from_state(rule, old, rows).history == [[4, 0.3], [8, 0.2]]


def test_a_rule_without_the_convergence_condition_is_an_earlier_stop_of_one_with_it():
    old = {"patience": 3, "min_delta": 0.01, "lr_decays": 1, "decay_factor": 0.3}  # saved before tail existed
    now = dataclasses.asdict(StopRule(patience=3, tail=0.2))
    assert extends(old, now) and extends({**old, "tail": 0.0, "tail_delta": 0.05}, now)
    assert not extends({**old, "patience": 2}, now)  # another plateau rule: another run
    assert not extends(dataclasses.asdict(StopRule(patience=3, tail=0.1)), now)  # may have run past now's stop


@pytest.mark.parametrize("bad", [dict(patience=-1), dict(min_delta=1.0), dict(decay_factor=0.0), dict(tail=1.0),
                                 dict(tail_delta=-0.1)])
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


def test_latest_is_best_marks_a_gain_under_min_delta_too():
    p = Plateau(StopRule(patience=0, min_delta=0.01))
    marks = []
    for i, v in enumerate((0.30, 0.20, 0.199, 0.25, float("nan"))):
        p.update(v, i)
        marks.append(p.latest_is_best)
    assert marks == [True, True, True, False, False]


def test_the_torch_trainer_keeps_the_best_evaluation_even_a_small_gain():
    """The CNN baselines' loop keeps the weights of the lowest validation NME, including an evaluation that beat
    the best by less than min_delta (before: the weights of the last gain over min_delta were kept)."""
    import numpy as np

    from redbench.baselines._torch_train import TrainLoop, Validation, fit

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 136))
    scripted, snapshots = iter((0.30, 0.20, 0.199, 0.25)), []

    def predict(m, images):
        snapshots.append(torch.cat([p.detach().flatten().clone() for p in m.parameters()]))
        return np.zeros((len(images), 68, 2))

    class Scripted(Validation):
        def nme(self, m):  # the scripted NME, after a snapshot of the weights it stands for
            self.predict(m, self.images)
            return next(scripted)

    val = Scripted(np.zeros((2, 8, 8, 3), np.uint8), np.zeros((2, 68, 2)), predict)
    rng = np.random.default_rng(0)
    loop = TrainLoop(epochs=4, batch_size=4, flip=False, rotation=0, scale=0, translation=0, threads=1,
                     stop=StopRule(patience=0, min_delta=0.01))
    rows = fit(model, rng.integers(0, 255, (8, 8, 8, 3), dtype=np.uint8), rng.uniform(1, 7, (8, 68, 2)),
               lambda out, u: ((out.view(-1, 68, 2) - u) ** 2).mean(), loop, seed=0, val=val)
    assert [r["val_nme_inter_ocular"] for r in rows] == [0.30, 0.20, 0.199, 0.25]
    kept = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.equal(kept, snapshots[2]) and not torch.equal(kept, snapshots[1])
