"""RED: a recurrent encoder-decoder for video face alignment (Peng, Feris, Wang, Metaxas, ECCV 2016,
arXiv 1608.05477), read top to bottom: f_ENC, f_DEC, the bottleneck split, f_CLS, f_tRNN, f_REG, f_sRNN.

Choices the paper leaves open (documented, not claims about the paper):
- f_tRNN is one LSTM shared across the bottleneck's spatial positions (input = hidden = C_pe's channels),
  added residually to C_pe, so RED-static is the same network with the LSTM removed.
- C_id is "held across the clip" as the causal running mean of the frames seen so far (online inference
  never looks ahead); f_CLS classifies each frame's own C_id.
- sRNN pass k is fed a label map with squares of srnn_squares[k] px: pass k > 0 gets the argmax centres of
  pass k-1's maps; pass 0 gets zeros, or with `frame_feedback` the previous frame's prediction (zeros on a
  clip's first frame and always for RED-static; in training, the previous frame's ground truth + noise).
  Feedback is not differentiated through (argmax). `frame_feedback` is off by default: trained on noisy
  ground truth, the model learnt to copy it, and at inference its own errors compounded (docs/red.md).
- f_REG reads the softmax of the maps; its output is the final prediction. The released demo instead
  decodes the maps (centroid of each landmark's argmax pixels, `argmax_centres`); in a CPU budget the
  69-class maps do not sharpen enough to be decoded, so f_REG stays the output (the maps still feed it and
  the sRNN). `decode: soft_argmax` (the maps' expected positions, differentiable, trained by a coordinate
  loss on them, LossWeights.map_coords) is an option, not the default (measurements: docs/red.md).
- Options (RedConfig): `srnn_feedback: soft` feeds pass k > 0 the previous pass's softmax instead of argmax
  squares; `temporal_gate` scales f_tRNN's residual and C_id's move to its running mean by per-channel gates
  that start at zero, so full RED starts as RED-static computing with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from redbench.red.config import RedConfig
from redbench.red.layers import ConvNormReLU, DecoderStage, EncoderStage, set_norm_pass
from redbench.red.srnn import argmax_centres, feedback_maps, soft_argmax_centres

CONV2_2, CONV4_3 = 1, 3  # stage indices whose last conv f_REG taps


class Encoder(nn.Module):
    """f_ENC: VGG-16 conv stages with batch norm, each ending in a 2x2 max-pool that keeps its indices."""

    def __init__(self, cfg: RedConfig) -> None:
        super().__init__()
        c_in = [cfg.in_channels, *cfg.stage_widths[:-1]]
        self.stages = nn.ModuleList(
            EncoderStage(a, b, n, cfg.norm) for a, b, n in zip(c_in, cfg.stage_widths, cfg.stage_convs)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        indices, feats = [], []
        for stage in self.stages:  # 128 -> 64 -> 32 -> 16 -> 8 -> 4 (paper config)
            x, idx, feat = stage(x)
            indices.append(idx)
            feats.append(feat)
        return x, indices, feats  # (N, C, s/32, s/32), per-stage pool indices, per-stage last conv


class Decoder(nn.Module):
    """f_DEC: the encoder mirrored; unpools with the encoder's indices; ends in L+1 response maps."""

    def __init__(self, cfg: RedConfig) -> None:
        super().__init__()
        w, n = cfg.stage_widths, cfg.stage_convs
        self.stages = nn.ModuleList(
            DecoderStage(w[i], w[max(i - 1, 0)], n[i], cfg.norm) for i in reversed(range(len(w)))
        )
        self.head = nn.Conv2d(w[0], cfg.n_map + 1, 3, padding=1)

    def forward(self, z: torch.Tensor, indices: list[torch.Tensor]) -> torch.Tensor:
        for stage, idx in zip(self.stages, reversed(indices)):
            z = stage(z, idx)  # doubles the resolution each stage
        return self.head(z)  # (N, L+1, s, s)


class IdentityClassifier(nn.Module):
    """f_CLS: identity logits from C_id (global average pool + linear)."""

    def __init__(self, channels: int, n_identities: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, n_identities)

    def forward(self, c_id: torch.Tensor) -> torch.Tensor:
        return self.fc(c_id.mean(dim=(2, 3)))  # (N, n_identities)


class TemporalRNN(nn.Module):
    """f_tRNN: an LSTM over time on C_pe, shared across the bottleneck's spatial positions, added residually
    (through a zero-initialised per-channel gate when `gated`)."""

    def __init__(self, channels: int, gated: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, channels, batch_first=True)
        self.gate = nn.Parameter(torch.zeros(channels)) if gated else None

    def forward(self, c_pe: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple]:
        b, t, c, h, w = c_pe.shape
        seq = c_pe.permute(0, 3, 4, 1, 2).reshape(b * h * w, t, c)  # (B*h*w, T, C)
        out, state = self.lstm(seq.float(), state)
        out = out.to(c_pe.dtype).reshape(b, h, w, t, c).permute(0, 3, 4, 1, 2)  # (B, T, C, h, w)
        if self.gate is not None:
            out = self.gate.to(out.dtype).view(1, 1, c, 1, 1) * out
        return c_pe + out, state


class Regressor(nn.Module):
    """f_REG: response maps -> 2L coordinates relative to the mean shape, with conv2_2 and conv4_3 features
    concatenated at the stages of matching resolution (s/2 and s/8)."""

    def __init__(self, cfg: RedConfig) -> None:
        super().__init__()
        r, w = cfg.reg_width, cfg.stage_widths
        self.a = ConvNormReLU(cfg.n_map + 1, r, cfg.norm)  # at s
        self.b = ConvNormReLU(r + w[CONV2_2], 2 * r, cfg.norm)  # at s/2, with conv2_2
        self.c = ConvNormReLU(2 * r, 4 * r, cfg.norm)  # at s/4
        self.d = ConvNormReLU(4 * r + w[CONV4_3], 4 * r, cfg.norm)  # at s/8, with conv4_3
        self.fc = nn.Linear(4 * r * 16, 2 * cfg.n_landmarks)
        nn.init.zeros_(self.fc.weight)  # start at the mean shape
        nn.init.zeros_(self.fc.bias)

    # Output scale of the offsets: Adam moves every fc weight by about lr per step whatever the gradient's
    # size, and the fc sums 64r features, so unscaled offsets would jump by a large part of the image per step.
    OUT_SCALE = 0.02

    def forward(self, probs: torch.Tensor, conv2_2: torch.Tensor, conv4_3: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.a(probs), 2)  # (N, r, s/2, s/2)
        x = F.max_pool2d(self.b(torch.cat([x, conv2_2], 1)), 2)  # (N, 2r, s/4, s/4)
        x = F.max_pool2d(self.c(x), 2)  # (N, 4r, s/8, s/8)
        x = F.max_pool2d(self.d(torch.cat([x, conv4_3], 1)), 2)  # (N, 4r, s/16, s/16)
        x = F.adaptive_avg_pool2d(x, 4).flatten(1)  # (N, 64r)
        return (self.OUT_SCALE * self.fc(x)).view(x.shape[0], -1, 2)  # (N, L, 2) offsets, units of s


@dataclass
class RedOutput:
    maps: list[torch.Tensor]  # per sRNN pass: (B, T, L_map+1, s, s) response maps (logits)
    coords: list[torch.Tensor]  # per sRNN pass: (B, T, L, 2) f_REG landmarks in input pixels
    id_logits: list[torch.Tensor]  # per sRNN pass: (B, T, n_identities); empty without f_CLS
    state: list  # per sRNN pass: (LSTM (h, c), C_id running sum, frame count); carry it to the next chunk
    decode: str = "reg"  # RedConfig.decode

    def map_centres(self, k: int = -1) -> torch.Tensor:
        """Pass k's maps decoded by soft-argmax (red/srnn.py): (B, T, L, 2) input pixels, on demand."""
        maps = self.maps[k]
        return soft_argmax_centres(maps.flatten(0, 1)).view(*maps.shape[:2], -1, 2)

    @property
    def landmarks(self) -> torch.Tensor:
        """The last pass's output (B, T, L, 2): f_REG's coords or the maps' centres, as the config decodes."""
        return self.map_centres(-1) if self.decode == "soft_argmax" else self.coords[-1]


class RED(nn.Module):
    def __init__(self, cfg: RedConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c_half = cfg.stage_widths[-1] // 2
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.cls = IdentityClassifier(c_half, cfg.n_identities) if cfg.use_cls else None
        self.trnn = TemporalRNN(c_half, cfg.temporal_gate) if cfg.temporal else None
        # gate between each frame's own C_id (0) and its running mean over the clip (1); see RedConfig
        self.id_gate = nn.Parameter(torch.zeros(c_half)) if cfg.temporal and cfg.temporal_gate else None
        self.reg = Regressor(cfg)
        # mean shape in units of the input side, (x + 0.5) / s; set from the training landmarks
        self.register_buffer("mean_shape", torch.full((cfg.n_landmarks, 2), 0.5))

    def forward(self, images: torch.Tensor, prev_points: torch.Tensor | None = None,
                state: list | None = None) -> RedOutput:
        """images (B, T, 3, s, s) in [0, 1], frames of one clip in order per row; prev_points (B, T, L, 2):
        each frame's previous-frame landmarks in this frame's input pixels (NaN/None = none), the feedback of
        sRNN pass 0 (ignored by RED-static); state: from the previous chunk of the same clips, or None."""
        cfg = self.cfg
        b, t, _, s, _ = images.shape
        assert s == cfg.input_size, f"input size {s} != config {cfg.input_size}"
        x = images.flatten(0, 1)  # (N=B*T, 3, s, s)
        use_prev = prev_points is not None and cfg.temporal and cfg.frame_feedback
        map_idx = list(cfg.map_indices)
        points = prev_points.flatten(0, 1)[:, map_idx] if use_prev else None  # (N, L_map, 2)
        state = state or [None] * cfg.srnn_steps
        out = RedOutput([], [], [], [], cfg.decode)
        soft_fb = None  # pass k-1's softmax (srnn_feedback "soft")
        for k in range(cfg.srnn_steps):
            set_norm_pass(self, k)
            fb = soft_fb if soft_fb is not None else \
                feedback_maps(points, x.shape[0], cfg.n_map, s, cfg.srnn_squares[k], x.device)
            z, indices, feats = self.encoder(torch.cat([x, fb.to(x.dtype)], 1))  # z (N, C, s/32, s/32)
            c_id, c_pe = z.chunk(2, dim=1)  # (N, C/2, s/32, s/32) each
            if self.cls is not None:
                out.id_logits.append(self.cls(c_id).view(b, t, -1))
            c_id, c_pe, step_state = self._hold_and_recur(c_id, c_pe, b, t, state[k])
            maps = self.decoder(torch.cat([c_id, c_pe], 1), indices)  # (N, L+1, s, s)
            rel = self.reg(F.softmax(maps.float(), 1).to(maps.dtype), feats[CONV2_2], feats[CONV4_3])
            coords = (self.mean_shape + rel.float()) * s - 0.5  # (N, L, 2) input pixels
            out.maps.append(maps.view(b, t, *maps.shape[1:]))
            out.coords.append(coords.view(b, t, -1, 2))
            out.state.append(step_state)
            if cfg.srnn_feedback == "soft":
                soft_fb = F.softmax(maps.detach().float(), 1)  # (N, L+1, s, s) fed to the next pass
            else:
                points = argmax_centres(maps.detach())  # (N, L, 2) fed to the next pass
        return out

    def _hold_and_recur(self, c_id: torch.Tensor, c_pe: torch.Tensor, b: int, t: int, state: tuple | None):
        """C_id -> its running mean over the clip so far; C_pe -> f_tRNN over time. RED-static: unchanged."""
        if self.trnn is None:
            return c_id, c_pe, None
        lstm_state, id_sum, count = state if state is not None else (None, None, 0)
        c_id = c_id.view(b, t, *c_id.shape[1:])  # (B, T, C/2, h, w)
        cum = c_id.float().cumsum(dim=1) if id_sum is None else id_sum[:, None] + c_id.float().cumsum(dim=1)
        held = cum / (count + torch.arange(1, t + 1, device=c_id.device).view(1, t, 1, 1, 1))
        if self.id_gate is not None:
            held = c_id.float() + self.id_gate.view(1, 1, -1, 1, 1) * (held - c_id.float())
        c_pe, lstm_state = self.trnn(c_pe.view(b, t, *c_pe.shape[1:]), lstm_state)
        new_state = (lstm_state, cum[:, -1], count + t)
        return held.to(c_pe.dtype).flatten(0, 1), c_pe.flatten(0, 1), new_state


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
