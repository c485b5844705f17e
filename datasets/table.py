"""The datasets table: a plain dict from dataset name to a spec naming its reader, layout, splits and synthetic
writer (the methods table's twin: redbench/methods/table.py).

Nothing registers itself at import time, and this module imports no other: a reader or writer module is
imported only when its dataset is read or generated. Fetch, preprocess, the CLI's dataset arguments, the
default comparison and the pipeline generator all take their datasets from here. Each module it names
provides (docs/extending.md, "Adding a dataset"):

    iter_videos(root: Path) -> Iterator[RawVideo]              # the reader (redbench.datasets.raw's records)
    <writer>(root: Path, cfg: SyntheticConfig, progress: bool) # the synthetic stand-in, in the same layout
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator


class UnknownDataset(ValueError):
    """A dataset name the table does not hold."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the name in params, data/raw/<name>/, data/shards/<name>/ and results
    title: str
    reader: str  # module with iter_videos(root)
    layout: str  # the raw layout under data/raw/<name>/, in one line (docs/interfaces.md has the details)
    splits: dict[str, tuple[str, ...]]  # split ("train" | "test") -> the subsets of its videos (RawVideo.subset)
    synthetic: str | None = None  # "module:function" writing the synthetic stand-in; None: real data only
    description: str = ""

    @property
    def subsets(self) -> tuple[str, ...]:
        return tuple(s for subsets in self.splits.values() for s in subsets)

    def iter_videos(self, root: str | os.PathLike) -> Iterator[Any]:
        """Every RawVideo of the dataset's raw layout under `root`."""
        return importlib.import_module(self.reader).iter_videos(Path(root))

    def synthetic_writer(self) -> Callable[..., None]:
        if self.synthetic is None:
            raise ValueError(f"dataset {self.name!r} has no synthetic stand-in: fetch it from a path or url")
        module, _, function = self.synthetic.partition(":")
        return getattr(importlib.import_module(module), function)


def _specs() -> list[DatasetSpec]:
    generate = "redbench.datasets.synthetic.generate"
    return [
        DatasetSpec("300vw", "300-VW", "redbench.datasets.vw300",
                    "NNN/vid.avi (or NNN/imgs/, NNN/frames/) with NNN/annot/000001.pts ...; extra/ lists unreliable "
                    "frames",
                    {"train": ("train",), "test": ("category1", "category2", "category3")}, f"{generate}:write_300vw",
                    "114 videos, 68 points per frame; 50 training videos and three test categories (Chrysos et al. "
                    "2015)"),
        DatasetSpec("300w", "300-W", "redbench.datasets.w300",
                    "afw/, helen/{trainset,testset}/, lfpw/{trainset,testset}/, ibug/: images with same-stem .pts",
                    {"train": ("train",), "test": ("common", "challenging")}, f"{generate}:write_300w",
                    "still images, one annotated face each; common and challenging test subsets"),
        DatasetSpec("tf", "Talking Face", "redbench.datasets.talking_face",
                    "franck_00000.jpg with franck_00000.pts ..., anywhere under the root",
                    {"test": ("tf",)}, f"{generate}:write_tf",
                    "one person talking to the camera, 5,000 frames; a test set"),
    ]


def dataset_table() -> dict[str, DatasetSpec]:
    """Name -> spec for every dataset the suite knows (built on call, not at import)."""
    return {s.name: s for s in _specs()}


def dataset_names() -> tuple[str, ...]:
    return tuple(dataset_table())


def synthetic_datasets() -> tuple[str, ...]:
    """The datasets the default run compares: those with a synthetic stand-in, in table order."""
    return tuple(name for name, spec in dataset_table().items() if spec.synthetic is not None)


def get_dataset(name: str) -> DatasetSpec:
    table = dataset_table()
    if name not in table:
        raise UnknownDataset(f"unknown dataset {name!r}; known: {', '.join(table)}")
    return table[name]

