"""RED's weights on disk: model.pt holds the architecture config and the state dict in plain types, so it loads
with torch.load(weights_only=True). The training checkpoint (checkpoint.pt, for --resume) is red/train.py's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from redbench._io import torch_save_atomic
from redbench.red.model import RED

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"


def save_model(path: Path, model: RED) -> None:
    """The trained weights with their architecture config (plain types: loadable with weights_only=True)."""
    torch_save_atomic({"config": dataclasses.asdict(model.cfg), "state_dict": model.state_dict()}, path)
