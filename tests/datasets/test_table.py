"""The datasets table: every dataset's synthetic writer writes the layout its reader reads, with the splits and
subsets the table says; the CLI, the default comparison and fetch take their datasets from it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from redbench.datasets.table import UnknownDataset, dataset_names, dataset_table, get_dataset, synthetic_datasets


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    from redbench.datasets.synthetic.config import SyntheticConfig
    from redbench.datasets.synthetic.generate import write_dataset

    root = tmp_path_factory.mktemp("table")
    for name in synthetic_datasets():
        write_dataset(name, root / name, SyntheticConfig.micro(seed=2))
    return root


@pytest.mark.parametrize("name", dataset_names())
def test_the_reader_reads_what_the_synthetic_writer_writes(name: str, written: Path) -> None:
    spec = get_dataset(name)
    assert spec.name == name and callable(importlib.import_module(spec.reader).iter_videos)
    assert set(spec.splits) <= {"train", "test"} and "test" in spec.splits
    videos = list(spec.iter_videos(written / name))
    assert videos and {v.dataset for v in videos} == {name}
    for v in videos:
        assert v.subset in spec.splits[v.split], (v.name, v.split, v.subset)
    assert {v.subset for v in videos} == set(spec.subsets)  # the micro data has every subset
    first = next(iter(videos[0].frames()))
    assert first.image.ndim == 3 and first.landmarks.shape == (68, 2)


def test_the_table_feeds_the_cli_the_comparison_and_the_readers(tmp_path: Path) -> None:
    from redbench.benchmark.compare import CompareConfig
    from redbench.cli import main
    from redbench.datasets.raw import iter_raw_videos

    assert dataset_names() == ("300vw", "300w", "tf") == CompareConfig().datasets == synthetic_datasets()
    for command in ("fetch", "preprocess", "preview", "synthetic-stats"):
        result = CliRunner().invoke(main, [command, "nope"])
        assert result.exit_code == 2 and "'300vw', '300w', 'tf'" in result.output, result.output
    with pytest.raises(UnknownDataset, match="unknown dataset 'nope'; known: 300vw, 300w, tf"):
        list(iter_raw_videos("nope", tmp_path))
    assert all(spec.synthetic_writer() for spec in dataset_table().values())


def test_a_dataset_without_a_synthetic_stand_in_is_named(tmp_path: Path, monkeypatch) -> None:
    from dataclasses import replace

    from redbench.cli import main
    from redbench.datasets import table

    real_only = {**table.dataset_table(), "tf": replace(get_dataset("tf"), synthetic=None)}
    monkeypatch.setattr(table, "dataset_table", lambda: real_only)
    with pytest.raises(ValueError, match="'tf' has no synthetic stand-in"):
        real_only["tf"].synthetic_writer()
    assert synthetic_datasets() == ("300vw", "300w")
    result = CliRunner().invoke(main, ["fetch", "tf", "--out", str(tmp_path / "tf")])
    assert result.exit_code == 1 and "fetch.tf: tf has no synthetic stand-in" in result.output
    assert not (tmp_path / "tf").exists()
