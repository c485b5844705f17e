"""Synthetic face videos written in the raw layouts of 300-W, 300-VW and Talking Face (the embedded default).

Public API (imported lazily, so importing this package costs nothing):
    SyntheticConfig                 the seed and sizes (params.yaml section `synthetic:`)
    write_dataset(dataset, out_dir, cfg, progress=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redbench.datasets.synthetic.config import SyntheticConfig
    from redbench.datasets.synthetic.generate import write_dataset

__all__ = ["SyntheticConfig", "write_dataset"]


def __getattr__(name: str) -> Any:
    if name == "SyntheticConfig":
        from redbench.datasets.synthetic.config import SyntheticConfig

        return SyntheticConfig
    if name == "write_dataset":
        from redbench.datasets.synthetic.generate import write_dataset

        return write_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
