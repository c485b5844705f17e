"""Atomic writes and deterministic model bytes."""

from __future__ import annotations

import pytest

from redbench._io import replace_dir, torch_save_atomic


def test_torch_save_atomic_gives_equal_bytes_for_equal_content(tmp_path):
    torch = pytest.importorskip("torch")  # a dependency, but heavy: the rest of this file runs without it
    state = {"model": {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, "extra": "{}"}
    torch_save_atomic(state, tmp_path / "a" / "model.pt")
    torch_save_atomic(state, tmp_path / "b" / "model.pt")
    a, b = (tmp_path / "a" / "model.pt").read_bytes(), (tmp_path / "b" / "model.pt").read_bytes()
    assert a == b
    assert torch.equal(torch.load(tmp_path / "a" / "model.pt", weights_only=True)["model"]["w"], state["model"]["w"])
    # Saved straight to files of different names, the zip's inner folder differs: the finding this fixes.
    torch.save(state, tmp_path / "x.pt")
    torch.save(state, tmp_path / "y.pt")
    assert (tmp_path / "x.pt").read_bytes() != (tmp_path / "y.pt").read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["model.pt"]  # no temporary file left


def test_replace_dir_swaps_whole_folders(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "f").write_text("new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_text("old")
    (tmp_path / "out" / "stale").write_text("old")
    replace_dir(tmp_path / "new", tmp_path / "out", tmp_path / "aside")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f"]
    assert (tmp_path / "out" / "f").read_text() == "new"
    assert (tmp_path / "aside" / "stale").read_text() == "old"
