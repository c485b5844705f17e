"""scripts/relock_code_changes.py: which stages count as changed in their code alone."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "relock_code_changes.py"


def _load():
    spec = importlib.util.spec_from_file_location("relock_code_changes", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_only_modified_code_and_allowed_new_params_count(tmp_path, monkeypatch):
    code_only = _load().code_only
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "s.h5").write_text("data")
    p = "reference/params.yaml"
    assert code_only([{"changed deps": {"red/train.py": "modified", "pkg": "modified", p: {"torch": "new"}}}],
                     p, {"torch"})
    # a param that was there and changed, a param not allowed, data, a deleted file, outputs, the command
    assert not code_only([{"changed deps": {p: {"methods.ert": "modified"}}}], p, {"torch"})
    assert not code_only([{"changed deps": {p: {"predict": "new"}}}], p, {"torch"})
    assert not code_only([{"changed deps": {"shards": "modified"}}], p, {"torch"})
    assert not code_only([{"changed deps": {"red/train.py": "deleted"}}], p, {"torch"})
    assert not code_only([{"changed deps": {"red/train.py": "modified"}},
                          {"changed outs": {"models/seed1/ert": "deleted"}}], p, {"torch"})
    assert not code_only(["changed command"], p, {"torch"})


def test_stale_entries_are_the_lock_stages_the_dvc_yaml_lacks(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text("schema: '2.0'\nstages:\n  train@red: {cmd: x}\n  train_red@red-0: {cmd: y}\n")
    assert _load().stale_entries(lock, {"train_red@red-0", "compare"}) == ["train@red"]
