"""RED's losses: hand-computed values and the batch-split property DDP relies on."""

import math

import pytest
import torch
import torch.nn.functional as F

from redbench.red.config import tiny
from redbench.red.losses import LossWeights, coord_loss, map_loss, red_loss
from redbench.red.model import RED


def test_map_loss_uniform_logits_is_log_classes():
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    labels[0, 1, 1] = 3
    assert torch.allclose(map_loss(torch.zeros(2, 5, 4, 4), labels, 0.1), torch.full((2,), math.log(5)))


def test_map_loss_background_weight_hand_case():
    maps = torch.zeros(1, 2, 1, 2)
    maps[0, 1, 0, 0] = math.log(3)  # pixel 0: p(label 1) = 3/4, label 1 -> ce = -log(3/4)
    labels = torch.tensor([[[1, 0]]])  # pixel 1: background, p = 1/2 -> ce = log 2
    w_bg = 0.25
    expected = (-math.log(0.75) + w_bg * math.log(2)) / (1 + w_bg)
    assert map_loss(maps, labels, w_bg).item() == pytest.approx(expected, rel=1e-6)


def test_coord_loss_hand_case():
    pred = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    target = torch.zeros(1, 2, 2)
    assert coord_loss(pred, target, size=10).item() == pytest.approx((0.09 + 0.16) / 2)


@pytest.mark.parametrize("variant,parts", [("full", {"coords", "maps", "identity"}), ("no_cls", {"coords", "maps"}),
                                           ("reg_only", {"coords"}), ("static", {"coords", "maps", "identity"})])
def test_red_loss_parts_per_variant(variant, parts):
    cfg = tiny(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=3, variant=variant)
    torch.manual_seed(0)
    out = RED(cfg)(torch.rand(2, 2, 3, 32, 32))
    lm = torch.rand(2, 2, 68, 2) * 31
    loss, got = red_loss(out, lm, torch.tensor([0, 2]), cfg, LossWeights())
    assert set(got) == parts
    w = LossWeights()
    assert loss.item() == pytest.approx(sum(getattr(w, {"coords": "coords", "maps": "maps",
                                                        "identity": "identity"}[k]) * v for k, v in got.items()),
                                        rel=1e-5)


def test_loss_of_a_batch_is_the_mean_of_equal_halves():
    """What DDP's gradient averaging assumes: loss(batch) == mean(loss(half 1), loss(half 2))."""
    cfg = tiny(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=3, norm="group")
    torch.manual_seed(0)
    model = RED(cfg)
    x, lm, ids = torch.rand(4, 2, 3, 32, 32), torch.rand(4, 2, 68, 2) * 31, torch.tensor([0, 1, 2, 1])
    whole = red_loss(model(x), lm, ids, cfg, LossWeights())[0]
    halves = [red_loss(model(x[i:i + 2]), lm[i:i + 2], ids[i:i + 2], cfg, LossWeights())[0] for i in (0, 2)]
    assert whole.item() == pytest.approx((halves[0].item() + halves[1].item()) / 2, rel=1e-5)


def test_map_coords_loss_and_soft_argmax_decoding():
    """With weight w.map_coords the maps' soft-argmax centres get a coordinate loss; decode=soft_argmax makes
    them the output, decode=reg keeps f_REG's."""
    torch.manual_seed(0)
    lm = torch.rand(1, 2, 68, 2) * 31
    for decode in ("reg", "soft_argmax"):
        cfg = tiny(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, n_identities=3, decode=decode)
        out = RED(cfg)(torch.rand(1, 2, 3, 32, 32))
        assert torch.equal(out.landmarks, out.map_centres(-1) if decode == "soft_argmax" else out.coords[-1])
        w = LossWeights(map_coords=50.0)
        loss, parts = red_loss(out, lm, torch.tensor([1]), cfg, w)
        centres = [out.map_centres(k) for k in range(3)]
        assert all(c.shape == (1, 2, 68, 2) and 0 <= c.min() and c.max() <= 31 for c in centres)
        expected = sum(coord_loss(c.flatten(0, 1), lm.flatten(0, 1), 32).mean() for c in centres) / 3
        assert parts["map_coords"] == pytest.approx(expected.item(), rel=1e-5)
        assert loss.item() == pytest.approx(w.coords * parts["coords"] + w.maps * parts["maps"]
                                            + w.identity * parts["identity"] + 50.0 * parts["map_coords"], rel=1e-5)
    assert "map_coords" not in red_loss(out, lm, torch.tensor([1]), cfg, LossWeights())[1]
    with pytest.raises(AssertionError, match="reg_only"):
        tiny(variant="reg_only", decode="soft_argmax")


def test_balanced_map_loss_weighs_landmark_pixels_by_negatives_over_positives():
    labels = torch.zeros(1, 4, 4, dtype=torch.long)
    labels[0, 0, :2] = 1  # 2 landmark pixels, 14 background
    maps = torch.zeros(1, 2, 4, 4)
    maps[0, 1] = 2.0  # every pixel says "landmark"
    ce = F.cross_entropy(maps, labels, reduction="none")[0]
    pos, neg = ce[0, 0].item(), ce[3, 3].item()
    want = (2 * 7.0 * pos + 14 * neg) / (2 * 7.0 + 14)  # landmark pixels weighted 14 / 2
    assert map_loss(maps, labels, background=0.1, balanced=True).item() == pytest.approx(want)


def test_seven_point_maps_draw_only_the_demo_points():
    from redbench.landmarks import RED_DEMO_POINTS

    cfg = tiny(input_size=32, stage_widths=(4, 4, 8, 8, 8), reg_width=4, map_points="demo7")
    assert cfg.n_map == 7 and cfg.n_landmarks == 68 and cfg.in_channels == 3 + 8
    assert cfg.map_indices == RED_DEMO_POINTS  # positions within the 68 regressed points
    model = RED(cfg)
    out = model(torch.rand(1, 2, 3, 32, 32))
    assert out.maps[0].shape == (1, 2, 8, 32, 32) and out.coords[0].shape == (1, 2, 68, 2)
    lm = torch.rand(1, 2, 68, 2) * 28 + 2
    loss, parts = red_loss(out, lm, torch.zeros(1, dtype=torch.long), cfg, LossWeights(balanced=True))
    assert torch.isfinite(loss) and parts["maps"] > 0
