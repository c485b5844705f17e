"""Training: it learns, a killed run resumes to the same weights, 2 DDP processes == 1 process."""

import csv
import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from redbench.red.config import tiny
from redbench.red.losses import LossWeights
from redbench.red.toy import ToyClips
from redbench.red.train import CHECKPOINT, MODEL, TrainConfig, _schedule, fit, previous_frame_points

MICRO = dict(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=2)


def test_previous_frame_points_maps_through_each_frames_crop():
    # frame 0: input = orig; frame 1: input = orig shifted by (+10, 0) and scaled by 2 (input = 2 * (orig - 10))
    to_orig = torch.tensor([[[1.0, 0, 0], [0, 1, 0]], [[0.5, 0, 10.0], [0, 0.5, 0]]])[None]  # (1, 2, 2, 3)
    lm = torch.tensor([[[[12.0, 4.0]], [[0.0, 0.0]]]])  # (1, 2, 1, 2)
    out = previous_frame_points(lm, to_orig, torch.zeros_like(lm))
    assert torch.isnan(out[0, 0]).all()
    assert torch.allclose(out[0, 1, 0], torch.tensor([4.0, 8.0]))


def test_schedule_warms_up_then_decays():
    f = _schedule(TrainConfig(warmup_steps=4), total=20)
    assert [f(i) for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == pytest.approx(1.0) and f(20) == pytest.approx(0.05) and f(12) < f(8)


def _tc(**kw):
    base = dict(epochs=3, passes_per_epoch=1, batch_clips=4, lr=3e-3, warmup_steps=2, checkpoint_every=2,
                val_frames_per_clip=3, feedback_noise=0.02)
    return TrainConfig(**{**base, **kw})


def test_fit_learns_and_writes_its_outputs(tmp_path):
    cfg = tiny(**MICRO)
    train, val = ToyClips(8, 3, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    rows = fit(cfg, _tc(epochs=4, passes_per_epoch=2, loss=LossWeights(maps=0.3)), train, val, tmp_path, seed=0)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    log = list(csv.DictReader((tmp_path / "train_log.csv").open()))
    assert len(log) == 4 and float(log[-1]["val_nme_inter_ocular"]) == pytest.approx(rows[-1]["val_nme_inter_ocular"])
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 4
    saved = torch.load(tmp_path / MODEL, weights_only=True)
    assert saved["config"]["input_size"] == 32 and "encoder.stages.0.convs.0.0.weight" in saved["state_dict"]


class _Kill(Exception):
    pass


def test_resume_after_a_kill_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    cfg = tiny(**MICRO)
    train, val = ToyClips(8, 3, 32, seed=0), ToyClips(1, 3, 32, seed=1)
    tc = _tc(epochs=2, passes_per_epoch=2, batch_clips=2, checkpoint_every=3)  # 4 steps/pass, 16 in all
    full = fit(cfg, tc, train, val, tmp_path / "full", seed=3)

    def kill_at_7(step: int) -> None:  # last checkpoint at step 6: step 7 is lost and redone
        if step == 7:
            raise _Kill

    with pytest.raises(_Kill):
        fit(cfg, tc, train, val, tmp_path / "cut", seed=3, step_hook=kill_at_7)
    assert not (tmp_path / "cut" / MODEL).exists()
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=True)["step"] == 2  # pass 1, step 2
    resumed = fit(cfg, tc, train, val, tmp_path / "cut", seed=3, resume=True)
    a = torch.load(tmp_path / "full" / MODEL, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut" / MODEL, weights_only=True)["state_dict"]
    for k in a:  # same ops in the same order on one process: equal to float rounding (we see bit-exact)
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6, rtol=0), k
    assert [r["train_loss"] for r in resumed] == pytest.approx([r["train_loss"] for r in full], rel=1e-6)


DDP_SCRIPT = textwrap.dedent("""
    import sys
    from redbench.red.config import tiny
    from redbench.red.toy import ToyClips
    from redbench.red.train import TrainConfig, fit
    cfg = tiny(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=2, norm="group",
               variant="no_srnn")
    tc = TrainConfig(epochs=3, passes_per_epoch=1, batch_clips=4, lr=1e-3, warmup_steps=2, checkpoint_every=0,
                     val_frames_per_clip=3)
    fit(cfg, tc, ToyClips(4, 3, 32, seed=0), ToyClips(1, 3, 32, seed=1), sys.argv[1], seed=5)
""")


def test_two_ddp_processes_match_one_process(tmp_path):
    """Group norm normalises each sample on its own and every loss term is a per-frame mean, so 2 ranks x 2
    clips average to the gradients of 1 process x 4 clips (BN's batch statistics would differ). The gradients
    then agree to float rounding (~1e-5 relative: the all-reduce sums in another order). One sRNN pass: the
    argmax feedback is discontinuous in the weights, so rounding can flip a pixel's label and the runs part
    (validation NME is not compared for that reason: it feeds predictions back as squares at rounded pixels).
    ToyClips has a noisy background: flat regions tie in the max-pools and the unpooling would hang on rounding."""
    cfg = tiny(**MICRO, norm="group", variant="no_srnn")
    tc = TrainConfig(epochs=3, passes_per_epoch=1, batch_clips=4, lr=1e-3, warmup_steps=2, checkpoint_every=0,
                     val_frames_per_clip=3)
    # one step per epoch (4 clips, batch 4): the logged curve is the loss of every step
    one = fit(cfg, tc, ToyClips(4, 3, 32, seed=0), ToyClips(1, 3, 32, seed=1), tmp_path / "one", seed=5)
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(script), str(tmp_path / "two")], check=True, env=env, timeout=120, capture_output=True)
    two = list(csv.DictReader((tmp_path / "two" / "train_log.csv").open()))
    print("loss per step, 1 process:", [r["train_loss"] for r in one], "2 ranks:", [r["train_loss"] for r in two])
    assert [float(r["train_loss"]) for r in two] == pytest.approx([r["train_loss"] for r in one], rel=1e-5)
    two = list(csv.DictReader((tmp_path / "two" / "train_log.csv").open()))
    print("loss per step, 1 process:", [r["train_loss"] for r in one], "2 ranks:", [r["train_loss"] for r in two])
    assert [float(r["train_loss"]) for r in two] == pytest.approx([r["train_loss"] for r in one], rel=1e-5)
    # tolerance: gradients agree to ~1e-5 relative; Adam's g/sqrt(v) lets that grow over steps (seen: 1.3e-4)
    assert [float(r["train_loss"]) for r in two] == pytest.approx([r["train_loss"] for r in one], rel=1e-3)
    # the weights at the end of training (the checkpoint's), not the kept ones: the kept model is the best
    # validation epoch's, and the two runs' validation NMEs differ by rounding, so they may keep other epochs
    a = torch.load(tmp_path / "one" / CHECKPOINT, weights_only=True)["model"]
    b = torch.load(tmp_path / "two" / CHECKPOINT, weights_only=True)["model"]
    diff = torch.cat([(a[k].float() - b[k].float()).abs().flatten() for k in a])
    print(f"weights, 2 ranks vs 1: max |diff| {diff.max():.2e}, mean {diff.mean():.2e}")
    # Adam moves a weight by about lr (1e-3) per step whatever its gradient's size: a near-zero gradient whose
    # sign differs by rounding moves it up to 2e-3 the other way (seen: max 1.1e-3, mean 9e-6 after 3 steps).
    # Such flips compound over steps (after 6 steps: mean 3e-4), so the run is kept this short.
    assert diff.max() < 3e-3 and diff.mean() < 1e-4


def test_stopping_rule_stops_on_a_plateau_and_keeps_the_best_epoch(tmp_path):
    from redbench.methods.convergence import StopRule

    cfg = tiny(**MICRO)
    train, val = ToyClips(8, 3, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    # min_delta 0.99: nothing after the first epoch counts as an improvement -> decay at epoch 2, stop at epoch 3
    tc = _tc(epochs=6, lr=0.0, stop=StopRule(patience=1, min_delta=0.99, lr_decays=1))
    rows = fit(cfg, tc, train, val, tmp_path, seed=0)
    assert [r["stop"] for r in rows] == ["improved", "decay", "stop"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    vals = [r["val_nme_inter_ocular"] for r in rows]
    assert metrics["best_val_nme_inter_ocular"] == min(vals)
    assert metrics["cost"]["stopped"] == "plateau" and metrics["cost"]["steps"] == 3 * 2
    assert metrics["cost"]["frames_seen"] == 3 * 2 * 4 * 3  # steps x clips x frames per clip
    assert metrics["cost"]["flops"] == pytest.approx(rows[-1]["train_flops"]) and metrics["cost"]["flops"] > 0
    assert rows[1]["train_flops"] == pytest.approx(2 * rows[0]["train_flops"])  # the same cost every step
    # resuming a run that had stopped trains nothing more and still says why it stopped
    assert fit(cfg, tc, train, val, tmp_path, seed=0, resume=True) == rows
    assert json.loads((tmp_path / "metrics.json").read_text())["cost"] == metrics["cost"]


def test_a_run_stopped_without_the_convergence_condition_goes_on_as_the_run_with_it(tmp_path):
    from redbench.methods.convergence import StopRule

    cfg = tiny(**MICRO)
    train, val = ToyClips(8, 3, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    plain = StopRule(patience=1, min_delta=0.99, lr_decays=1)  # every epoch after the first is a plateau step
    with_tail = dataclasses.replace(plain, tail=0.2, tail_delta=0.0)  # stop only once a tail holds no new best
    early = fit(cfg, _tc(epochs=6, stop=plain), train, val, tmp_path / "cut", seed=0)
    assert [r["stop"] for r in early] == ["improved", "decay", "stop"]
    whole = fit(cfg, _tc(epochs=6, stop=with_tail), train, val, tmp_path / "whole", seed=0)
    assert len(whole) > 3  # the condition kept it training past the plain rule's stop
    went_on = fit(cfg, _tc(epochs=6, stop=with_tail), train, val, tmp_path / "cut", seed=0, resume=True)
    assert [r["stop"] for r in went_on] == [r["stop"] for r in whole]
    assert [r["val_nme_inter_ocular"] for r in went_on] == pytest.approx([r["val_nme_inter_ocular"] for r in whole],
                                                                         rel=1e-5)
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["cost"]["steps"] == whole[-1]["step"]
    # the other way round is refused: a run with the condition may have gone past the plain rule's stop
    with pytest.raises(ValueError, match=r"train\.stop\.tail: checkpoint 0\.2, now 0\.0"):
        fit(cfg, _tc(epochs=6, stop=plain), train, val, tmp_path / "whole", seed=0, resume=True)


def test_resume_refuses_changed_params_and_says_when_there_is_nothing(tmp_path, caplog):
    cfg = tiny(**MICRO)
    train, val = ToyClips(8, 3, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    with caplog.at_level("WARNING"):
        fit(cfg, _tc(epochs=1), train, val, tmp_path, seed=0, resume=True)
    assert "nothing to resume" in caplog.text
    with pytest.raises(ValueError, match=r"train\.epochs: checkpoint 1, now 2.*train\.lr"):
        fit(cfg, _tc(epochs=2, lr=1e-3), train, val, tmp_path, seed=0, resume=True)
    with pytest.raises(ValueError, match=r"model\.variant: checkpoint 'full', now 'static'"):
        fit(dataclasses.replace(cfg, variant="static"), _tc(epochs=1), train, val, tmp_path, seed=0, resume=True)
    fit(cfg, _tc(epochs=1, threads=1), train, val, tmp_path, seed=0, resume=True)  # threads may change
