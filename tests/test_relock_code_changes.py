"""scripts/relock_code_changes.py: which stages count as changed in their code alone."""


def test_only_modified_code_and_allowed_new_params_count(tmp_path, monkeypatch, load_script):
    code_only = load_script("relock_code_changes").code_only
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


def test_stale_entries_are_the_lock_stages_the_dvc_yaml_lacks(tmp_path, load_script):
    lock = tmp_path / "dvc.lock"
    lock.write_text("schema: '2.0'\nstages:\n  train@red: {cmd: x}\n  train_red@red-0: {cmd: y}\n")
    assert load_script("relock_code_changes").stale_entries(lock, {"train_red@red-0", "compare"}) == ["train@red"]
