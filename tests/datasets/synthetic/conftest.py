"""Small synthetic datasets generated once per test session (micro sizes: a few seconds in all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.generate import write_dataset


@pytest.fixture(scope="session")
def micro_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All three datasets at the micro preset, seed 0: root/{300vw,300w,tf}."""
    root = tmp_path_factory.mktemp("synthetic-micro")
    cfg = SyntheticConfig.micro(seed=0)
    for dataset in ("300vw", "300w", "tf"):
        write_dataset(dataset, root / dataset, cfg)
    return root


@pytest.fixture(scope="session")
def category_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300-VW with 3 test videos per category of 40 frames: enough frames for per-category statistics."""
    root = tmp_path_factory.mktemp("synthetic-categories")
    cfg = SyntheticConfig.micro(seed=1, vw_train_videos=0, vw_test_videos_per_category=3, vw_frames=40)
    write_dataset("300vw", root / "300vw", cfg)
    return root
