"""RED's parts and the assembled model: shapes per part and variant, causality, online == clip forward."""

import dataclasses

import pytest
import torch

from redbench.red.config import VARIANTS, make_config, paper, tiny
from redbench.red.model import RED, Decoder, Encoder, IdentityClassifier, Regressor, TemporalRNN, count_parameters

MICRO = dict(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=3)


def micro(**kw):
    return tiny(**{**MICRO, **kw})


def test_each_part_shapes():
    cfg = micro()
    torch.manual_seed(0)
    x = torch.rand(2, cfg.in_channels, 32, 32)
    z, idx, feats = Encoder(cfg)(x)
    assert z.shape == (2, 8, 1, 1)
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
    assert [i.shape[-1] for i in idx] == [16, 8, 4, 2, 1]
    maps = Decoder(cfg)(z, idx)
    assert maps.shape == (2, 69, 32, 32)
    assert IdentityClassifier(4, 3)(z[:, :4]).shape == (2, 3)
    rnn_out, (h, c) = TemporalRNN(4)(torch.rand(2, 5, 4, 3, 3), None)
    assert rnn_out.shape == (2, 5, 4, 3, 3) and h.shape == (1, 2 * 9, 4)
    assert Regressor(cfg)(maps.softmax(1), feats[1], feats[3]).shape == (2, 68, 2)


def test_vgg16_encoder_widths_and_in_channels():
    cfg = paper(point_set="demo7")
    assert cfg.in_channels == 11  # the released demo: RGB + 8 maps
    enc = Encoder(cfg)
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13 and [c.out_channels for c in convs][-1] == 512
    assert convs[0].in_channels == 11


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("point_set", ["68", "demo7"])
def test_forward_shapes_per_variant(variant, point_set):
    cfg = micro(variant=variant, point_set=point_set)
    torch.manual_seed(0)
    out = RED(cfg)(torch.rand(2, 3, 3, 32, 32))
    n_steps = 1 if variant in ("no_srnn", "reg_only") else 3
    L = cfg.n_landmarks
    assert len(out.maps) == len(out.coords) == n_steps
    assert out.maps[0].shape == (2, 3, L + 1, 32, 32) and out.landmarks.shape == (2, 3, L, 2)
    assert len(out.id_logits) == (n_steps if variant not in ("no_cls", "reg_only") else 0)
    assert (RED(cfg).trnn is None) == (variant == "static")


@torch.no_grad()
def test_frame_feedback_switch():
    x, prev = torch.rand(1, 2, 3, 32, 32), torch.rand(1, 2, 68, 2) * 32
    off, on = _eval_model(), _eval_model(frame_feedback=True)
    assert torch.equal(off(x, prev).landmarks, off(x).landmarks)  # ignored when off
    assert (on(x, prev).landmarks - on(x).landmarks).abs().max() > 1e-4


def test_untrained_regressor_starts_at_the_mean_shape():
    model = RED(micro())
    shape = torch.rand(68, 2)
    model.mean_shape.copy_(shape)
    out = model(torch.rand(1, 2, 3, 32, 32))
    assert torch.allclose(out.landmarks[0, 1], shape * 32 - 0.5)


def _eval_model(**kw):
    torch.manual_seed(0)
    model = RED(micro(**kw))
    torch.nn.init.normal_(model.reg.fc.weight, std=0.1)
    for m in model.modules():  # BN statistics of real activations (the defaults would scale them to ~0)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    with torch.no_grad():
        model(torch.rand(4, 3, 3, 32, 32))
    return model.eval()


@torch.no_grad()
def test_temporal_model_is_causal_and_static_model_is_per_frame():
    x = torch.rand(1, 4, 3, 32, 32)
    y = x.clone()
    y[:, 2:] = torch.rand(1, 2, 3, 32, 32)
    red, static = _eval_model(), _eval_model(variant="static")
    a, b = red(x).landmarks, red(y).landmarks
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-6)  # the past does not see the future
    assert (a[:, 3] - b[:, 3]).abs().max() > 1e-3
    z = x.clone()
    z[:, 0] = torch.rand(3, 32, 32)
    assert (red(z).landmarks[:, 3] - a[:, 3]).abs().max() > 1e-4  # frame 3 remembers frame 0
    assert torch.allclose(static(z).landmarks[:, 1:], static(x).landmarks[:, 1:], atol=1e-6)


@pytest.mark.parametrize("frame_feedback", [False, True])
@torch.no_grad()
def test_online_stepping_equals_clip_forward(frame_feedback):
    model = _eval_model(frame_feedback=frame_feedback)
    x, prev = torch.rand(2, 5, 3, 32, 32), torch.rand(2, 5, 68, 2) * 32
    prev[:, 0] = float("nan")
    whole = model(x, prev).landmarks
    state, steps = None, []
    for t in range(5):
        out = model(x[:, t:t + 1], prev[:, t:t + 1], state)
        state = out.state
        steps.append(out.landmarks)
    # float32 sums differ with the batch layout (N = B*T vs B): agreement to 1e-3 px, not bit-exact
    assert torch.allclose(torch.cat(steps, 1), whole, atol=1e-3)


@torch.no_grad()
def test_identity_code_is_held_as_running_mean():
    model = _eval_model()
    c_id = torch.rand(3 * 1, 4, 1, 1)
    held, _, (_, total, count) = model._hold_and_recur(c_id.view(3, 4, 1, 1), torch.rand(3, 4, 1, 1), 1, 3, None)
    assert count == 3
    assert torch.allclose(held[1], c_id.view(3, 4, 1, 1)[:2].mean(0))
    assert torch.allclose(total[0], c_id.view(3, 4, 1, 1).sum(0))


def test_paper_config_parameter_count():
    model = RED(paper(n_identities=24))
    n_enc = count_parameters(model.encoder)
    # VGG-16's 13 conv layers hold 14.71M weights; our first conv takes 3 + 69 channels and adds BN
    assert 14.7e6 < n_enc < 14.8e6
    assert count_parameters(model) > 2 * n_enc  # + the mirrored decoder, f_tRNN, f_REG, f_CLS
    print(f"paper config: {count_parameters(model) / 1e6:.2f}M parameters (encoder {n_enc / 1e6:.2f}M; "
          "the paper quotes 14.8M)")


def test_config_rejects_bad_values():
    with pytest.raises(AssertionError):
        tiny(variant="nope")
    with pytest.raises(AssertionError):
        tiny(input_size=48)
    with pytest.raises(ValueError):
        make_config("huge")
    assert make_config("paper", input_size=None).input_size == 128
    assert dataclasses.replace(tiny(), variant="static").temporal is False
