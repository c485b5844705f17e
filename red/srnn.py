"""Label maps for RED's training target and for f_sRNN's feedback (pure tensor functions).

The paper's spatial recurrence merges the L+1 response maps by per-pixel argmax into a label map, takes a
centre per landmark, draws a square of 7, then 5, then 3 px around it and feeds that back with the image.
Our feedback encoding (documented here, used everywhere): the label map as L+1 one-hot channels (channel 0
= background, channel l = the square of landmark l), matching the released demo's input of RGB + L+1 maps.
"No feedback" (the first step of a clip's first frame) is all-zero channels, distinct from "all background".
"""

from __future__ import annotations

import torch


def draw_label_map(points: torch.Tensor, size: int, square: int) -> torch.Tensor:
    """Label map (N, size, size) int64: value l+1 in a `square` px square around landmark l, 0 elsewhere.

    points: (N, L, 2) pixel centres (x, y) in a size x size image. The square is centred on the pixel that
    contains the point. Where squares overlap the higher landmark index wins; NaN points draw nothing.
    """
    assert points.ndim == 3 and points.shape[-1] == 2, points.shape
    assert square % 2 == 1, "square side must be odd so it has a centre pixel"
    n, n_pts, _ = points.shape
    half = square // 2
    centre = torch.round(points).nan_to_num(-10.0 * size - 10 * square).long()  # (N, L, 2); NaN -> far outside
    offsets = torch.arange(-half, half + 1, device=points.device)
    xs = centre[..., 0, None, None] + offsets[None, :]  # (N, L, 1, k): columns of each square
    ys = centre[..., 1, None, None] + offsets[:, None]  # (N, L, k, 1): rows
    inside = (xs >= 0) & (xs < size) & (ys >= 0) & (ys < size)  # (N, L, k, k)
    flat = torch.where(inside, ys * size + xs, size * size).flatten(1)  # (N, L*k*k); outside -> a spare slot
    values = torch.arange(1, n_pts + 1, device=points.device).repeat_interleave(square * square).expand(n, -1)
    labels = torch.zeros(n, size * size + 1, dtype=torch.long, device=points.device)
    labels.scatter_reduce_(1, flat, values, reduce="amax")  # overlaps: the higher index wins
    return labels[:, :-1].view(n, size, size)


def one_hot_maps(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(N, H, W) int64 label map -> (N, n_classes, H, W) float one-hot channels."""
    n, h, w = labels.shape
    out = torch.zeros(n, n_classes, h * w, device=labels.device)
    return out.scatter_(1, labels.view(n, 1, h * w), 1.0).view(n, n_classes, h, w)


def feedback_maps(points: torch.Tensor | None, n: int, n_landmarks: int, size: int, square: int,
                  device: torch.device | None = None) -> torch.Tensor:
    """The L+1 feedback channels (N, L+1, size, size) for landmark guesses `points` (N, L, 2).

    points None -> zeros (no feedback). A sample whose points are all NaN also gets zeros.
    """
    if points is None:
        return torch.zeros(n, n_landmarks + 1, size, size, device=device)
    maps = one_hot_maps(draw_label_map(points, size, square), n_landmarks + 1)
    known = ~torch.isnan(points).all(dim=2).all(dim=1)  # (N,)
    return maps * known.view(-1, 1, 1, 1).to(maps.dtype)


def argmax_centres(maps: torch.Tensor) -> torch.Tensor:
    """Landmark centres (N, L, 2) from response maps (N, L+1, H, W), the demo's decoding.

    Centre of landmark l = centroid of the pixels whose per-pixel argmax label is l; where no pixel has
    label l, the pixel where channel l most exceeds the background channel.
    """
    n, c, h, w = maps.shape
    labels = maps.max(dim=1).indices.view(n, h * w)  # (N, HW); max().indices: much faster than argmax over dim 1
    pix = torch.arange(h * w, device=maps.device)
    xs, ys = (pix % w).float().expand(n, -1), torch.div(pix, w, rounding_mode="floor").float().expand(n, -1)
    count = torch.zeros(n, c, device=maps.device).scatter_add_(1, labels, torch.ones(n, h * w, device=maps.device))
    cx = torch.zeros(n, c, device=maps.device).scatter_add_(1, labels, xs)[:, 1:] / count[:, 1:].clamp(min=1)
    cy = torch.zeros(n, c, device=maps.device).scatter_add_(1, labels, ys)[:, 1:] / count[:, 1:].clamp(min=1)
    peak = (maps[:, 1:] - maps[:, :1]).flatten(2).argmax(dim=2)  # (N, L) flat index
    px, py = (peak % w).float(), torch.div(peak, w, rounding_mode="floor").float()
    found = count[:, 1:] > 0
    return torch.stack([torch.where(found, cx, px), torch.where(found, cy, py)], dim=-1)  # (N, L, 2)


def soft_argmax_centres(maps: torch.Tensor) -> torch.Tensor:
    """Landmark centres (N, L, 2) in pixels: the expected position under the spatial softmax of each landmark's
    log-odds against the background, maps[:, l] - maps[:, 0] (maps: (N, L+1, H, W) logits). Differentiable,
    so a coordinate loss on it trains the maps to peak where the landmark is (integral regression)."""
    n, c, h, w = maps.shape
    prob = (maps[:, 1:] - maps[:, :1]).float().flatten(2).softmax(-1).view(n, c - 1, h, w)
    xs = torch.arange(w, device=maps.device, dtype=prob.dtype)
    ys = torch.arange(h, device=maps.device, dtype=prob.dtype)
    return torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)], dim=-1)
