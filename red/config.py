"""RED's architecture config and its two presets: `paper` (128 px, VGG-16 widths) and `tiny` (the CPU default).

Sizes quoted from Peng et al. ECCV 2016 (docs/protocols.md, "The RED model"): 128x128 input, VGG-16 conv
stages with 5 max-pools, a 4x4x512 bottleneck split into two 256-channel halves, 3 sRNN steps with squares
of 7, 5 and 3 px. The tiny preset keeps every part and divides the widths by 8 at 64 px.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from redbench.landmarks import RED_DEMO_POINTS

# VGG-16 conv stages: output width and number of 3x3 conv layers per stage (conv1_1 ... conv5_3).
VGG16_WIDTHS: tuple[int, ...] = (64, 128, 256, 512, 512)
VGG16_CONVS: tuple[int, ...] = (2, 2, 3, 3, 3)

# Ablation switches. "static" = no tRNN (one frame at a time, the `red_static` method); "no_srnn" = one
# spatial step; "no_cls" = no identity classifier; "reg_only" = coordinate loss only (no map or identity
# loss, so the maps are unsupervised and not fed back: one step).
VARIANTS = ("full", "static", "no_srnn", "no_cls", "reg_only")
POINT_SETS = ("68", "demo7")
# "recurrent_batch": batch norm with separate running statistics per sRNN pass and shared affine parameters,
# as the authors' RED-Net (its RBN2d): the passes' inputs differ (zero vs label-map feedback), so one set of
# statistics fits none of them at eval time.
NORMS = ("batch", "group", "recurrent_batch")
DECODINGS = ("reg", "soft_argmax")
# f_sRNN's feedback to pass k > 0: "hard" = the paper's label map of squares around the argmax centres of pass
# k-1; "soft" = pass k-1's per-pixel softmax itself (detached), which carries the maps' uncertainty instead of
# committing to one argmax (the hard loop can lock onto a wrong centre early in training).
SRNN_FEEDBACK = ("hard", "soft")


@dataclass(frozen=True)
class RedConfig:
    input_size: int = 64
    stage_widths: tuple[int, ...] = tuple(w // 8 for w in VGG16_WIDTHS)
    stage_convs: tuple[int, ...] = VGG16_CONVS
    point_set: str = "68"  # the points f_REG regresses (and the method outputs)
    # The points the response maps, the label-map target and the sRNN feedback cover. Both of the authors'
    # releases draw maps for the demo's 7 points (docs/protocols.md): 68 squares on a 64 px face overlap, so a
    # 69-class per-pixel target is ill-posed. f_REG still regresses all `point_set` points from the maps.
    map_points: str | None = None  # None: the same as point_set
    variant: str = "full"
    # "batch" is the paper's. "group" (the method default, params methods.red.norm) normalises each sample on
    # its own, so eval normalises as training did (batch norm's running statistics mix the sRNN passes, whose
    # inputs differ: zero vs label-map feedback) and DDP shards equal one process exactly.
    norm: str = "batch"
    srnn_squares: tuple[int, ...] = (7, 5, 3)  # feedback square side per sRNN step (px at input resolution)
    label_square: int = 3  # side of the per-landmark square of the training label map
    # Pass 0 of frame t fed frame t-1's prediction (RED's own tracking feedback). Off by default: trained on
    # noisy ground truth it taught the model to copy the feedback, and at inference its own errors then
    # compounded (docs/red.md).
    frame_feedback: bool = False
    # The landmarks RED outputs: "reg" = f_REG's regression (the paper's); "soft_argmax" = the expected
    # position under each landmark map's spatial softmax (red/srnn.py), a decoding of the maps as the released
    # demo decodes them (it takes argmax centroids, which do not train: not differentiable).
    decode: str = "reg"
    srnn_feedback: str = "hard"
    # Zero-initialised gates on the temporal path: C_pe + g_pe * f_tRNN(C_pe) and C_id + g_id * (held - C_id),
    # per channel. At initialisation full RED then computes exactly what RED-static with the same weights
    # computes, and learns how much of time to use (the ungated LSTM makes the two differ from step 0).
    temporal_gate: bool = False
    reg_width: int = 8  # f_REG's first width; it doubles twice (smaller than the encoder, as the paper says)
    n_identities: int = 1  # f_CLS classes; set from the training identities

    def __post_init__(self) -> None:
        assert self.variant in VARIANTS, f"variant must be one of {VARIANTS}, got {self.variant!r}"
        assert self.point_set in POINT_SETS, f"point_set must be one of {POINT_SETS}, got {self.point_set!r}"
        assert self.map_set in POINT_SETS, f"map_points must be one of {POINT_SETS}, got {self.map_points!r}"
        assert set(_indices(self.map_set)) <= set(_indices(self.point_set)), "map points must be regressed too"
        assert not (self.decode == "soft_argmax" and self.map_set != self.point_set), \
            "soft_argmax decodes the maps: map_points must equal point_set"
        assert self.norm in NORMS, f"norm must be one of {NORMS}, got {self.norm!r}"
        assert self.decode in DECODINGS, f"decode must be one of {DECODINGS}, got {self.decode!r}"
        assert self.srnn_feedback in SRNN_FEEDBACK, \
            f"srnn_feedback must be one of {SRNN_FEEDBACK}, got {self.srnn_feedback!r}"
        assert not (self.decode == "soft_argmax" and self.variant == "reg_only"), "reg_only has no map to decode"
        assert len(self.stage_widths) == len(self.stage_convs), "one conv count per stage"
        assert len(self.stage_widths) >= 4, "f_REG taps conv2_2 and conv4_3: at least 4 stages"
        assert self.input_size % (2 ** len(self.stage_widths)) == 0, "input size must divide by 2^stages"
        assert self.stage_widths[-1] % 2 == 0, "the bottleneck splits into two equal halves"
        assert all(s % 2 == 1 for s in self.srnn_squares) and self.label_square % 2 == 1, "odd squares"

    @property
    def n_landmarks(self) -> int:
        return len(self.point_indices)

    @property
    def point_indices(self) -> tuple[int, ...]:
        """Which of the 68 points the model predicts (0-based)."""
        return _indices(self.point_set)

    @property
    def map_set(self) -> str:
        return self.map_points or self.point_set

    @property
    def n_map(self) -> int:
        """Landmark channels of the response maps (they have n_map + 1 with the background)."""
        return len(self.map_indices)

    @property
    def map_indices(self) -> tuple[int, ...]:
        """Positions within `point_indices` of the points the maps cover."""
        return tuple(self.point_indices.index(i) for i in _indices(self.map_set))

    @property
    def srnn_steps(self) -> int:
        return 1 if self.variant in ("no_srnn", "reg_only") else len(self.srnn_squares)

    @property
    def temporal(self) -> bool:
        return self.variant != "static"

    @property
    def use_cls(self) -> bool:
        return self.variant not in ("no_cls", "reg_only")

    @property
    def use_map_loss(self) -> bool:
        return self.variant != "reg_only"

    @property
    def in_channels(self) -> int:
        """RGB + the map points' L+1 feedback maps, as the released demo (3 + 8 = 11 channels for 7 points)."""
        return 3 + self.n_map + 1


def _indices(point_set: str) -> tuple[int, ...]:
    return tuple(range(68)) if point_set == "68" else RED_DEMO_POINTS


def tiny(**overrides) -> RedConfig:
    """Same structure as the paper, widths / 8, 64 px: the CPU default."""
    return dataclasses.replace(RedConfig(), **overrides)


def paper(**overrides) -> RedConfig:
    """128 px, VGG-16 widths (the paper quotes 14.8M parameters; see scripts/bench_red.py for ours)."""
    base = RedConfig(input_size=128, stage_widths=VGG16_WIDTHS, reg_width=64)
    return dataclasses.replace(base, **overrides)


PRESETS = {"tiny": tiny, "paper": paper}


def make_config(preset: str, **overrides) -> RedConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown RED preset {preset!r}; known: {sorted(PRESETS)}")
    return PRESETS[preset](**{k: v for k, v in overrides.items() if v is not None})
