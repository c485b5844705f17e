"""Building blocks of RED's encoder-decoder: conv-norm-ReLU, encoder stages that pool with indices and
decoder stages that unpool with them (SegNet-style switches, as RED stores them: Peng et al. 2016)."""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    # group norm: per-sample statistics, so a batch split across DDP ranks normalises exactly as one batch
    return nn.GroupNorm(min(8, channels), channels)


class ConvNormReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, norm: str) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            norm_layer(norm, c_out),
            nn.ReLU(inplace=True),
        )


class EncoderStage(nn.Module):
    """n conv layers, then a 2x2 max-pool that also returns where each max came from."""

    def __init__(self, c_in: int, c_out: int, n_convs: int, norm: str) -> None:
        super().__init__()
        chans = [c_in] + [c_out] * n_convs
        self.convs = nn.Sequential(*(ConvNormReLU(a, b, norm) for a, b in zip(chans[:-1], chans[1:])))
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feat = self.convs(x)  # (N, c_out, h, w): the stage's last conv (e.g. conv2_2), tapped by f_REG
        pooled, indices = self.pool(feat)  # (N, c_out, h/2, w/2) each
        return pooled, indices, feat


class DecoderStage(nn.Module):
    """Unpool with the matching encoder stage's indices, then n conv layers (the last one narrows to c_out)."""

    def __init__(self, c_in: int, c_out: int, n_convs: int, norm: str) -> None:
        super().__init__()
        self.unpool = nn.MaxUnpool2d(2, 2)
        chans = [c_in] * n_convs + [c_out]
        self.convs = nn.Sequential(*(ConvNormReLU(a, b, norm) for a, b in zip(chans[:-1], chans[1:])))

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        x = self.unpool(x, indices, output_size=(x.shape[-2] * 2, x.shape[-1] * 2))  # (N, c_in, 2h, 2w)
        return self.convs(x)  # (N, c_out, 2h, 2w)
