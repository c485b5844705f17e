"""Encoder/decoder stages (unpooling uses the encoder's indices) and the sRNN label maps."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.red.layers import ConvNormReLU, DecoderStage, EncoderStage
from redbench.red.srnn import argmax_centres, draw_label_map, feedback_maps, one_hot_maps, soft_argmax_centres


def test_encoder_stage_shapes_and_taps():
    stage = EncoderStage(5, 8, 2, "batch")
    pooled, idx, feat = stage(torch.rand(3, 5, 16, 16))
    assert pooled.shape == idx.shape == (3, 8, 8, 8)
    assert feat.shape == (3, 8, 16, 16)
    assert torch.equal(pooled, torch.nn.functional.max_pool2d(feat, 2))


def test_unpool_puts_values_where_the_encoder_max_was():
    x = torch.tensor([[[[1.0, 5.0, 0.0, 2.0],
                        [3.0, 4.0, 7.0, 1.0],
                        [9.0, 0.0, 0.0, 0.0],
                        [0.0, 2.0, 0.0, 6.0]]]])
    pooled, idx = torch.nn.MaxPool2d(2, 2, return_indices=True)(x)
    dec = DecoderStage(1, 1, 1, "batch")
    up = dec.unpool(pooled * 10, idx, output_size=(4, 4))
    expected = torch.zeros(1, 1, 4, 4)
    for (r, c), v in {(0, 1): 50.0, (1, 2): 70.0, (2, 0): 90.0, (3, 3): 60.0}.items():
        expected[0, 0, r, c] = v
    assert torch.equal(up, expected)


def test_decoder_stage_uses_given_indices():
    """The decoder stage's unpooling follows the indices it is given, not its input's own maxima."""
    torch.manual_seed(0)
    enc = EncoderStage(2, 4, 1, "batch")
    _, idx, _ = enc(torch.rand(1, 2, 8, 8))
    dec = DecoderStage(4, 3, 2, "batch")
    up = dec.unpool(torch.ones(1, 4, 4, 4), idx, output_size=(8, 8))
    assert torch.equal(up.flatten(2).nonzero()[:, 2].view(4, 16).sort(1).values, idx.flatten(2)[0].sort(1).values)
    assert dec(torch.rand(1, 4, 4, 4), idx).shape == (1, 3, 8, 8)


def test_conv_norm_relu_is_nonnegative_and_group_norm_option():
    assert (ConvNormReLU(3, 8, "group")(torch.randn(2, 3, 5, 5)) >= 0).all()
    assert isinstance(ConvNormReLU(3, 8, "group")[1], torch.nn.GroupNorm)


def test_draw_label_map_hand_case():
    pts = torch.tensor([[[2.2, 1.0], [5.6, 5.4], [float("nan"), 0.0]]])  # (1, 3, 2)
    lab = draw_label_map(pts, 8, 3)
    expected = torch.zeros(8, 8, dtype=torch.long)
    expected[0:3, 1:4] = 1  # centre pixel (x=2, y=1)
    expected[4:7, 5:8] = 2  # centre pixel (x=6, y=5)
    assert torch.equal(lab[0], expected)


def test_draw_label_map_higher_index_wins_overlap():
    pts = torch.tensor([[[3.0, 3.0], [4.0, 3.0]]])
    lab = draw_label_map(pts, 8, 3)[0]
    assert lab[3, 4] == 2 and lab[3, 3] == 2 and lab[3, 2] == 1
    assert draw_label_map(pts, 8, 1)[0].count_nonzero() == 2


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=8, unique=True),
       st.sampled_from([1, 3, 5]))
def test_argmax_centres_recover_square_centres(cells, square):
    """Squares on a grid 8 px apart never overlap: their argmax centroids are the drawn centres."""
    pts = torch.tensor([[[4.0 + 8 * cx, 4.0 + 8 * cy] for cx, cy in cells]])
    maps = one_hot_maps(draw_label_map(pts, 32, square), len(cells) + 1) * 5.0
    assert torch.allclose(argmax_centres(maps), pts)


def test_argmax_centres_fallback_to_channel_peak():
    maps = torch.zeros(1, 3, 6, 6)
    maps[0, 0] = 10.0  # background wins everywhere (and is zero-free so the peak is the raw max)
    maps[0, 1, 2, 4] = 9.0  # landmark 1 never wins, but peaks at (x=4, y=2)
    maps[0, 2, 5, 1] = 8.0
    assert torch.equal(argmax_centres(maps), torch.tensor([[[4.0, 2.0], [1.0, 5.0]]]))


def test_feedback_maps_encoding():
    assert feedback_maps(None, 2, 4, 8, 3).shape == (2, 5, 8, 8)
    assert feedback_maps(None, 2, 4, 8, 3).count_nonzero() == 0
    pts = torch.tensor([[[1.0, 1.0]] * 4, [[float("nan")] * 2] * 4])
    fb = feedback_maps(pts, 2, 4, 8, 3)
    assert fb[1].count_nonzero() == 0  # unknown -> no feedback at all
    assert torch.equal(fb[0].sum(0), torch.ones(8, 8))  # one-hot everywhere for a known sample
    assert fb[0, 4, 0:3, 0:3].sum() == 9 and fb[0, 0, 0:3, 0:3].sum() == 0


def test_soft_argmax_centres_hand_case_and_gradient():
    maps = torch.zeros(1, 3, 4, 6)
    maps[0, 1, 2, 5] = 50.0  # landmark 1: one sharp peak at x=5, y=2
    maps[0, 2, 1, 0] = maps[0, 2, 3, 4] = 50.0  # landmark 2: two equal peaks -> their midpoint (2, 2)
    maps[0, 0, 3, 4] = 50.0  # ... unless the background claims one of them: log-odds against channel 0
    centres = soft_argmax_centres(maps)
    assert torch.allclose(centres[0, 0], torch.tensor([5.0, 2.0]), atol=1e-4)
    assert torch.allclose(centres[0, 1], torch.tensor([0.0, 1.0]), atol=1e-4)
    flat = torch.zeros(1, 2, 4, 6, requires_grad=True)  # uniform log-odds -> the image centre
    c = soft_argmax_centres(flat)
    assert torch.allclose(c, torch.tensor([[[2.5, 1.5]]]))
    c[0, 0, 0].backward()  # differentiable: raising a pixel's logit pulls x towards that pixel
    assert flat.grad[0, 1, 0, 5] > 0 > flat.grad[0, 1, 0, 0]


def test_recurrent_batch_norm_keeps_statistics_per_pass_with_one_affine():
    from redbench.red.layers import RecurrentBatchNorm2d, set_norm_pass

    bn = RecurrentBatchNorm2d(2, passes=3, momentum=1.0)  # momentum 1: running stats = the last batch's
    net = torch.nn.Sequential(bn)
    for k, shift in enumerate((0.0, 5.0, -3.0)):
        set_norm_pass(net, k)
        net(torch.randn(8, 2, 4, 4) + shift)
    assert bn.running_mean[:, 0].tolist() == pytest.approx([0.0, 5.0, -3.0], abs=0.5)
    bn.eval()
    x = torch.full((1, 2, 2, 2), 5.0)
    set_norm_pass(net, 1)
    assert net(x).abs().max() < 1.0  # normalised by pass 1's mean (5), not pass 0's (0)
    set_norm_pass(net, 0)
    assert net(x).min() > 3.0
    assert sum(p.numel() for p in bn.parameters()) == 4  # one weight and bias per channel, shared
