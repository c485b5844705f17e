"""Building blocks of RED's encoder-decoder: conv-norm-ReLU, encoder stages that pool with indices and
decoder stages that unpool with them (SegNet-style switches, as RED stores them: Peng et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RecurrentBatchNorm2d(nn.Module):
    """Batch norm with one set of running statistics per sRNN pass and one shared affine (RED-Net's RBN2d).

    The model selects the pass with `set_norm_pass` before each pass (the passes see different feedback)."""

    def __init__(self, channels: int, passes: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(passes, channels))
        self.register_buffer("running_var", torch.ones(passes, channels))
        self.eps, self.momentum, self.pass_index = eps, momentum, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.pass_index
        mean, var = self.running_mean[k], self.running_var[k]  # views: batch_norm updates them in place
        return F.batch_norm(x, mean, var, self.weight, self.bias, self.training, self.momentum, self.eps)


def set_norm_pass(model: nn.Module, k: int) -> None:
    """Point every RecurrentBatchNorm2d of `model` at pass k's statistics (no-op for other norms)."""
    for m in model.modules():
        if isinstance(m, RecurrentBatchNorm2d):
            m.pass_index = k


def norm_layer(kind: str, channels: int, passes: int = 3) -> nn.Module:
    if kind == "recurrent_batch":
        return RecurrentBatchNorm2d(channels, passes)
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
