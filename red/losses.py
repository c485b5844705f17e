"""RED's training losses: per-pixel classification of the L+1 maps, coordinate L2 relative to the mean shape,
identity cross-entropy. Every term is a mean of per-frame values, so equal shards of a batch on DDP ranks
average to exactly the one-process loss (a batch-wide weighted mean would not)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from redbench.config import param
from redbench.red.config import RedConfig
from redbench.red.model import RedOutput
from redbench.red.srnn import draw_label_map


@dataclass(frozen=True)
class LossWeights:
    maps: float = param(1.0, min=0)  # per-pixel classification of the response maps
    background: float = param(0.1, min=0)  # weight of background pixels in it (they outnumber landmark pixels ~10:1)
    # True: weight each frame's landmark pixels by #background / #landmark pixels instead (RED-Net's weighted
    # cross-entropy), so both classes weigh alike whatever the number of map points; `background` is unused
    balanced: bool = True
    coords: float = param(100.0, min=0)  # coordinate L2, in units of the input side (squared errors ~1e-2: weight it up)
    identity: float = param(0.1, min=0)  # f_CLS cross-entropy
    map_coords: float = param(0.0, min=0)  # coordinate L2 of the maps' soft-argmax centres (integral regression on the maps)


def map_loss(maps: torch.Tensor, labels: torch.Tensor, background: float, balanced: bool = False) -> torch.Tensor:
    """maps (N, L+1, H, W) logits, labels (N, H, W) in 0..L -> (N,) weighted mean cross-entropy per frame."""
    ce = F.cross_entropy(maps.float(), labels, reduction="none")  # (N, H, W)
    if balanced:
        pos = (labels > 0).float()
        ratio = (1 - pos).sum(dim=(1, 2), keepdim=True) / pos.sum(dim=(1, 2), keepdim=True).clamp(min=1)
        w = torch.where(labels == 0, 1.0, ratio)
    else:
        w = torch.where(labels == 0, background, 1.0)
    return (ce * w).sum(dim=(1, 2)) / w.sum(dim=(1, 2))


def coord_loss(coords: torch.Tensor, target: torch.Tensor, size: int) -> torch.Tensor:
    """coords, target (N, L, 2) input pixels -> (N,) mean over points of the squared error in units of s.

    The model regresses offsets from the mean shape, so this is the L2 on mean-shape-subtracted coordinates.
    """
    return ((coords.float() - target) / size).pow(2).sum(-1).mean(-1)


def red_loss(out: RedOutput, landmarks: torch.Tensor, identity: torch.Tensor, cfg: RedConfig,
             w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss over every sRNN pass; landmarks (B, T, L, 2) input pixels, identity (B,) class index
    (-1 = unknown, skipped). Returns the loss and its parts (detached floats, for the log)."""
    b, t, n_pts, _ = landmarks.shape
    target = landmarks.flatten(0, 1)  # (N, L, 2)
    parts: dict[str, torch.Tensor] = {}
    steps = range(len(out.coords))
    parts["coords"] = sum(coord_loss(out.coords[k].flatten(0, 1), target, cfg.input_size).mean()
                          for k in steps) / len(steps)
    if cfg.use_map_loss:
        labels = draw_label_map(target[:, list(cfg.map_indices)], cfg.input_size, cfg.label_square)  # (N, s, s)
        parts["maps"] = sum(map_loss(out.maps[k].flatten(0, 1), labels, w.background, w.balanced).mean()
                            for k in steps) / len(steps)
        if w.map_coords > 0:
            parts["map_coords"] = sum(coord_loss(out.map_centres(k).flatten(0, 1), target, cfg.input_size).mean()
                                      for k in steps) / len(steps)
    if cfg.use_cls and out.id_logits:
        ids = identity.view(b, 1).expand(b, t).flatten()  # (N,)
        known = (ids >= 0).float()
        ce = [F.cross_entropy(logits.flatten(0, 1).float(), ids.clamp(min=0), reduction="none") * known
              for logits in out.id_logits]
        parts["identity"] = sum(c.mean() for c in ce) / len(ce)
    weight = {"coords": w.coords, "maps": w.maps, "identity": w.identity, "map_coords": w.map_coords}
    total = sum(weight[k] * v for k, v in parts.items())
    return total, {k: float(v.detach()) for k, v in parts.items()}
