"""RED's weights on disk: model.pt holds the architecture config and the state dict in plain types, so it loads
with torch.load(weights_only=True). Prediction reads it through here alone; the training checkpoint beside it
(checkpoint.pt, for --resume) is red/train.py's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from redbench._io import torch_save_atomic
from redbench.methods.protocol import CHECKPOINT, WEIGHTS  # the file names of every resumable method
from redbench.red.config import RedConfig
from redbench.red.model import RED

MODEL = WEIGHTS
__all__ = ["CHECKPOINT", "MODEL", "load_model", "save_model"]


def save_model(path: Path, model: RED) -> None:
    """The trained weights with their architecture config (plain types: loadable with weights_only=True)."""
    torch_save_atomic({"config": dataclasses.asdict(model.cfg), "state_dict": model.state_dict()}, path)


def load_model(path: Path) -> RED:
    """The RED saved at `path` by save_model, on the CPU; a truncated or foreign file is a ValueError naming it."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model_cfg = RedConfig(**saved["config"])
    except Exception as e:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable RED model: {e}") from None
    model = RED(model_cfg)
    model.load_state_dict(saved["state_dict"])
    return model
