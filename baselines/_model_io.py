"""Saving and loading model files atomically (an interrupted training run leaves no model that looks complete),
with the same bytes for the same content."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redbench._io import atomic_path, torch_save_atomic


def save_arrays(path: str | Path, **arrays: np.ndarray) -> None:
    """Write arrays to an .npz file atomically (no pickles)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def save_state(path: str | Path, state: dict) -> None:
    """torch.save a state dict (tensors and plain values, readable with weights_only=True) atomically, with
    bytes that depend on the content only."""
    torch_save_atomic(state, path)


def load_arrays(path: str | Path, names: tuple[str, ...], method: str) -> dict[str, np.ndarray]:
    """Read the named arrays from an .npz file written by `save_arrays`; errors name the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no model file (run `redbench train {method}`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [n for n in names if n not in z.files]
            if missing:
                raise ValueError(f"{path}: model file lacks array(s) {missing}")
            return {n: z[n] for n in names}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable model file: {e}") from None
