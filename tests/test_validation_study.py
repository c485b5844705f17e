"""scripts/validation_study.py: a row copies the reference run's own records or trains with its overrides."""

import subprocess
import sys
from pathlib import Path

import pytest


def test_a_plain_row_copies_the_reference_records_and_an_option_row_trains_with_its_seed(tmp_path, monkeypatch,
                                                                                          load_script):
    study = load_script("validation_study")
    ref = tmp_path / "reference"
    done = ref / "models" / "seed1" / "red"
    done.mkdir(parents=True)
    for name in ("metrics.json", "train_info.json", "train_log.csv", "diagnostics.json", "model.pt"):
        (done / name).write_text(name)
    out = tmp_path / "out"
    study.run("red", "red", (), 1, ref, ref / "params.yaml", out)
    assert sorted(p.name for p in (out / "red_seed-1").iterdir()) == [
        "diagnostics.json", "metrics.json", "train_info.json", "train_log.csv"]  # records, not weights
    calls = []

    def fake_run(cmd, check):
        calls.append(cmd)
        model = Path(cmd[cmd.index("--out") + 1])
        model.mkdir(parents=True)
        (model / "metrics.json").write_text("{}")

    monkeypatch.setattr(subprocess, "run", fake_run)
    _, overrides, _ = study.STUDIES["red_options"]["red_gated_from-static"]
    study.run("red_gated_from-static", "red", overrides, 1, ref, ref / "params.yaml", out)
    cmd = calls[0]
    assert cmd[cmd.index("--seed") + 1] == "1" and "--resume" in cmd
    assert f"train.init_from={ref.resolve()}/models/seed1/red_static/model.pt" in cmd
    assert (out / "red_gated_from-static_seed-1" / "metrics.json").exists()
    study.run("red_gated_from-static", "red", overrides, 1, ref, ref / "params.yaml", out)
    assert len(calls) == 1  # finished: kept, not trained again


def test_unknown_rows_are_refused(monkeypatch, capsys, load_script):
    monkeypatch.setattr(sys, "argv", ["validation_study.py", "--study", "red_options", "--rows", "red_nope"])
    with pytest.raises(SystemExit) as e:
        load_script("validation_study").main()
    assert e.value.code == 2 and "not rows of red_options: ['red_nope']" in capsys.readouterr().err
