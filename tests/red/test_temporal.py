"""Temporal training options: state carried across chunks, TBPTT, accumulation, EMA, the zero-gated start,
RED-static initialisation, soft sRNN feedback, bf16, and the temporal diagnostics."""

import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch

from redbench.red import ddp
from redbench.red.config import tiny
from redbench.red.diagnostics import MODES, temporal_diagnostics, uses_time
from redbench.red.infer import cpu_bf16
from redbench.red.losses import LossWeights
from redbench.red.model import RED
from redbench.red.toy import ToyClips
from redbench.red.train import (CHECKPOINT, DIAGNOSTICS, MODEL, TrainConfig, _chunked_backward, check_resumable,
                                fit, init_from_static, run_params)

MICRO = dict(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=2)


def _clips(n=2, t=6, seed=0):
    data = ToyClips(n, t, 32, seed=seed)
    return torch.stack([data[i]["image"] for i in range(n)])  # (n, T, 3, 32, 32)


def _randomise_gates(model: RED, value: float = 0.7) -> None:
    with torch.no_grad():
        model.trnn.gate.fill_(value)
        model.id_gate.fill_(value)


def _live(model: RED) -> RED:
    """f_REG's last layer starts at zero (every output = the mean shape): give it weights, so outputs differ."""
    with torch.no_grad():
        model.reg.fc.weight.normal_(0, 1.0)
    return model


@pytest.mark.parametrize("gated", [False, True])
def test_state_carried_across_chunks_equals_one_long_forward(gated):
    torch.manual_seed(0)
    model = _live(RED(tiny(**MICRO, temporal_gate=gated))).eval()
    if gated:
        _randomise_gates(model)  # a zero gate would hide the state
    x = _clips()
    with torch.no_grad():
        whole = model(x)
        a = model(x[:, :2])
        b = model(x[:, 2:5], state=a.state)
        c = model(x[:, 5:], state=b.state)
    for k in range(len(whole.coords)):
        chunked = torch.cat([a.coords[k], b.coords[k], c.coords[k]], 1)
        assert torch.allclose(chunked, whole.coords[k], atol=1e-4), (k, (chunked - whole.coords[k]).abs().max())
    # and the state matters: a fresh state on the last chunk gives other coordinates
    with torch.no_grad():
        fresh = model(x[:, 5:])
    assert not torch.allclose(fresh.coords[-1], c.coords[-1], atol=1e-4)


def test_zero_gated_full_red_computes_red_static_with_its_weights():
    torch.manual_seed(0)
    static = _live(RED(tiny(**MICRO, variant="static"))).eval()
    torch.manual_seed(1)
    full = RED(tiny(**MICRO, temporal_gate=True)).eval()
    missing, unexpected = full.load_state_dict(static.state_dict(), strict=False)
    assert not unexpected and set(missing) == {k for k in full.state_dict() if k.startswith("trnn.") or k == "id_gate"}
    x = _clips(t=5)
    with torch.no_grad():
        a, b = full(x), static(x)
    for k in range(len(a.coords)):
        assert torch.equal(a.coords[k], b.coords[k]) and torch.equal(a.maps[k], b.maps[k])
    # an ungated full RED with the same weights differs (the LSTM and C_id's running mean act from step 0)
    ungated = RED(tiny(**MICRO)).eval()
    ungated.load_state_dict(static.state_dict(), strict=False)
    with torch.no_grad():
        assert not torch.allclose(ungated(x).coords[-1], b.coords[-1], atol=1e-5)


def test_init_from_static_loads_a_red_static_model_and_refuses_another(tmp_path):
    torch.manual_seed(0)
    static = RED(tiny(**MICRO, variant="static"))
    torch.save({"config": {}, "state_dict": static.state_dict()}, tmp_path / "static.pt")
    full = RED(tiny(**MICRO, temporal_gate=True))
    init_from_static(full, tmp_path / "static.pt")
    assert torch.equal(full.encoder.stages[0].convs[0][0].weight, static.encoder.stages[0].convs[0][0].weight)
    other = RED(tiny(**{**MICRO, "stage_widths": (4, 4, 8, 8, 16)}, variant="static"))
    torch.save({"config": {}, "state_dict": other.state_dict()}, tmp_path / "other.pt")
    with pytest.raises((ValueError, RuntimeError), match="other.pt|size mismatch"):
        init_from_static(RED(tiny(**MICRO, temporal_gate=True)), tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.pt.*init_from"):
        init_from_static(full, tmp_path / "junk.pt")


def test_soft_srnn_feedback_feeds_the_previous_pass_softmax():
    torch.manual_seed(0)
    hard = _live(RED(tiny(**MICRO))).eval()
    soft = RED(tiny(**MICRO, srnn_feedback="soft")).eval()
    soft.load_state_dict(hard.state_dict())
    x = _clips(t=2)
    with torch.no_grad():
        h, s = hard(x), soft(x)
    assert torch.equal(h.coords[0], s.coords[0])  # pass 0 is fed zeros in both
    assert not torch.allclose(h.coords[1], s.coords[1], atol=1e-6)
    # the soft input of pass 1 is pass 0's softmax: the encoder sees it (check by re-running pass 1 by hand)
    probs = torch.softmax(s.maps[0].flatten(0, 1).float(), 1)
    assert torch.allclose(probs.sum(1), torch.ones_like(probs[:, 0]))


def _run(model, tc):
    info = ddp.DistInfo()
    return SimpleNamespace(tc=tc, cfg=model.cfg, net=model, info=info, device=torch.device("cpu"), bf16=False)


def _grads(model):
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_tbptt_keeps_the_forward_and_truncates_only_the_gradient():
    torch.manual_seed(0)
    # group norm (the method's default: batch norm's training statistics depend on the chunk); one sRNN pass (the
    # argmax feedback of near-flat untrained maps may flip on float rounding between batch shapes)
    cfg = tiny(**MICRO, variant="no_srnn", norm="group")
    model = RED(cfg)
    data = ToyClips(2, 6, 32, seed=0)
    batch = torch.utils.data.default_collate([data[0], data[1]])
    args = (batch["image"], batch["landmarks"], torch.full_like(batch["landmarks"], float("nan")), batch["identity"])
    losses, grads = {}, {}
    for tbptt in (0, 6, 2):
        model.zero_grad(set_to_none=True)
        losses[tbptt], _ = _chunked_backward(_run(model, TrainConfig(tbptt=tbptt)), *args, sync=True)
        grads[tbptt] = _grads(model)
    assert losses[6] == losses[0] and torch.equal(grads[6], grads[0])  # a chunk as long as the window: no change
    assert losses[2] == pytest.approx(losses[0], rel=1e-5)  # the carried state gives the same forward
    assert not torch.allclose(grads[2], grads[0])  # but the gradient stops at chunk boundaries
    # the encoder's gradient (through every frame's own loss) is mostly the same
    assert torch.nn.functional.cosine_similarity(grads[2], grads[0], 0) > 0.9


def test_accumulating_two_half_batches_gives_the_full_batch_gradient():
    torch.manual_seed(0)
    model = RED(tiny(**MICRO, norm="group"))  # batch norm would see other statistics in half batches
    data = ToyClips(4, 3, 32, seed=0)
    full = torch.utils.data.default_collate([data[i] for i in range(4)])

    def args(b, rows):
        return (b["image"][rows], b["landmarks"][rows], torch.full_like(b["landmarks"][rows], float("nan")),
                b["identity"][rows])

    model.zero_grad(set_to_none=True)
    _chunked_backward(_run(model, TrainConfig()), *args(full, slice(0, 4)), sync=True)
    g_full = _grads(model)
    model.zero_grad(set_to_none=True)
    for rows in (slice(0, 2), slice(2, 4)):
        _chunked_backward(_run(model, TrainConfig(accumulate=2)), *args(full, rows), sync=True)
    assert torch.allclose(_grads(model), g_full, atol=1e-6, rtol=1e-4)


def _tc(**kw):
    base = dict(epochs=2, passes_per_epoch=1, batch_clips=2, lr=3e-3, warmup_steps=1, checkpoint_every=0,
                val_frames_per_clip=0, loss=LossWeights(maps=0.3))
    return TrainConfig(**{**base, **kw})


def test_ema_weights_are_validated_and_kept(tmp_path):
    cfg = tiny(**MICRO)
    train, val = ToyClips(4, 4, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    fit(cfg, _tc(ema=0.9, epochs=1), train, val, tmp_path, seed=0)
    ck = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    kept = torch.load(tmp_path / MODEL, weights_only=True)["state_dict"]
    ema = {k[len("module."):]: v for k, v in ck["ema"].items() if k.startswith("module.")}
    key = "encoder.stages.0.convs.0.0.weight"
    assert torch.equal(kept[key], ema[key])
    assert not torch.equal(kept[key], ck["model"][key])  # the raw weights moved on; the average lags


def test_separate_seeds_split_initialisation_from_data_order(tmp_path):
    cfg = tiny(**MICRO)
    train, val = ToyClips(4, 4, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    runs = {}
    for name, kw in {"a": dict(init_seed=5, data_seed=1), "b": dict(init_seed=5, data_seed=2),
                     "c": dict(init_seed=6, data_seed=1)}.items():
        fit(cfg, _tc(epochs=1, lr=0.0, **kw), train, val, tmp_path / name, seed=0)  # lr 0: weights = the init
        runs[name] = torch.load(tmp_path / name / MODEL, weights_only=True)["state_dict"]
    key = "encoder.stages.0.convs.0.0.weight"
    assert torch.equal(runs["a"][key], runs["b"][key]) and not torch.equal(runs["a"][key], runs["c"][key])


def test_tbptt_fit_writes_diagnostics_and_resumes_old_checkpoints(tmp_path):
    cfg = tiny(**MICRO, temporal_gate=True)
    train, val = ToyClips(4, 6, 32, seed=0), ToyClips(2, 6, 32, seed=1)
    rows = fit(cfg, _tc(tbptt=2, accumulate=2, diagnostics=True), train, val, tmp_path, seed=0)
    assert len(rows) == 2 and all(torch.isfinite(torch.tensor(r["train_loss"])) for r in rows)
    diag = json.loads((tmp_path / DIAGNOSTICS).read_text())
    assert set(diag) == set(MODES) and all(v > 0 for v in diag.values())
    # a checkpoint made before the options existed resumes under their defaults, not under other values
    now = run_params(tiny(**MICRO), TrainConfig(), 0)
    old = {k: v for k, v in now.items() if not k.startswith(("train.tbptt", "train.ema", "model.temporal_gate"))}
    check_resumable(tmp_path / "old.pt", old, now)
    with pytest.raises(ValueError, match="train.tbptt"):
        check_resumable(tmp_path / "old.pt", old, run_params(tiny(**MICRO), TrainConfig(tbptt=4), 0))


def test_diagnostics_change_nothing_for_red_static_and_catch_a_model_that_uses_time():
    torch.manual_seed(0)
    val = ToyClips(2, 8, 32, seed=1)
    clips = [val[i] for i in range(len(val))]
    static = _live(RED(tiny(**MICRO, variant="static")))
    d = temporal_diagnostics(static, clips, torch.device("cpu"))
    assert d["as_is"] == pytest.approx(d["state_reset"], rel=1e-6) == pytest.approx(d["shuffled"], rel=1e-6)
    assert not uses_time(d)
    torch.manual_seed(0)
    full = _live(RED(tiny(**MICRO, temporal_gate=True, norm="group")))
    with torch.no_grad():  # open gates: the LSTM's residual and C_id's running mean now shape the output
        full.trnn.gate.fill_(3.0)
        full.id_gate.fill_(1.0)
    d = temporal_diagnostics(full, clips, torch.device("cpu"))
    assert d["state_reset"] > d["as_is"] * 1.01 and d["shuffled"] > d["as_is"] * 1.01 and uses_time(d)
    assert uses_time({"as_is": 0.10, "state_reset": 0.12, "shuffled": 0.10})
    assert not uses_time({"as_is": 0.10, "state_reset": 0.1005, "shuffled": 0.0999})


def test_bf16_is_used_only_when_asked_for_and_supported():
    cpu = torch.device("cpu")
    assert cpu_bf16(cpu, "fp32") is False
    assert cpu_bf16(cpu, "bf16") == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp16")


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="no bf16 on this CPU")
def test_bf16_training_runs_and_learns(tmp_path):
    cfg = tiny(**MICRO)
    train, val = ToyClips(4, 3, 32, seed=0), ToyClips(2, 4, 32, seed=1)
    rows = fit(cfg, _tc(precision="bf16", epochs=3, tbptt=2), train, val, tmp_path, seed=0)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
