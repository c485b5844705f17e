"""Training curves: the logs read back by value, the figure's bytes stable, and the `dvc plots` definitions that
docs/video.md proposes for dvc.yaml: valid, pointing at every learned method's log and its real columns, and
rendered by DVC itself."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from redbench.benchmark.training_curves import TrainingLogError, plot_training_curves, read_logs
from redbench.cli import main
from redbench.methods import method_table

REPO = Path(__file__).resolve().parents[2]
LOG_HEADER = "epoch,step,train_loss,val_nme_inter_ocular,lr,frames_seen,train_flops,wall_s,stop"


def _write_log(models: Path, method: str, rows: list[tuple]) -> None:
    (models / method).mkdir(parents=True, exist_ok=True)
    lines = [LOG_HEADER] + [",".join(map(str, (e, 10 * e, loss, nme, 0.001, 100 * e, 1e11 * e, 2.0 * e, "improved")))
                            for e, loss, nme in rows]
    (models / method / "train_log.csv").write_text("\n".join(lines) + "\n")


def test_read_logs_by_value(tmp_path) -> None:
    _write_log(tmp_path, "sdm", [(1, 4.0, 0.2), (2, 2.0, 0.1)])
    _write_log(tmp_path, "ert", [(1, "nan", 0.07)])
    logs = read_logs(tmp_path, ["red", "sdm", "ert"])  # red has no log: left out
    assert list(logs.method) == ["sdm", "sdm", "ert"]
    assert list(logs.val_nme_inter_ocular) == [0.2, 0.1, 0.07] and list(logs.train_flops) == [1e11, 2e11, 1e11]
    assert logs.train_loss.isna().tolist() == [False, False, True]


def test_read_logs_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(TrainingLogError, match="no train_log.csv"):
        read_logs(tmp_path, ["sdm"])
    (tmp_path / "sdm").mkdir()
    (tmp_path / "sdm" / "train_log.csv").write_text("epoch,step\n1,2\n")
    with pytest.raises(TrainingLogError, match=r"sdm/train_log.csv: missing column\(s\) train_loss"):
        read_logs(tmp_path, ["sdm"])


def test_the_figure_has_the_same_bytes_for_the_same_logs(tmp_path) -> None:
    _write_log(tmp_path, "heatmap", [(1, 0.3, 0.37), (2, 0.1, 0.2), (3, 0.05, 0.11)])
    _write_log(tmp_path, "sdm", [(1, 10.0, 0.13), (2, 3.0, 0.08)])
    logs = read_logs(tmp_path, ["heatmap", "sdm"])
    a, b = plot_training_curves(logs, tmp_path / "a.png"), plot_training_curves(logs, tmp_path / "b.png")
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    r = CliRunner().invoke(main, ["curves", "--models-dir", str(tmp_path), "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0 and "of sdm, heatmap ->" in r.output, r.output  # the table's order
    r = CliRunner().invoke(main, ["curves", "--models-dir", str(tmp_path / "none"), "--out", str(tmp_path / "d.png")])
    assert r.exit_code == 1 and "no train_log.csv" in r.output and not (tmp_path / "d.png").exists()


def proposed_dvc_yaml() -> dict:
    """The top-level plots and metrics docs/video.md proposes for dvc.yaml (its block after <!-- dvc-plots -->)."""
    text = (REPO / "docs" / "video.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- dvc-plots -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, "docs/video.md: no ```yaml block after <!-- dvc-plots -->"
    return yaml.safe_load(block.group(1))


def test_the_proposed_plots_cover_every_learned_methods_log() -> None:
    from redbench.methods.train_log import write_log  # noqa: F401  (the writer of these columns)

    learned = {n for n, s in method_table().items() if s.trainable and n != "mean_shape"}  # mean_shape logs nothing
    proposed = proposed_dvc_yaml()
    columns = set(LOG_HEADER.split(","))
    for entry in proposed["plots"]:
        (name, spec), = entry.items()
        assert spec["x"] in columns, name
        files = {f: v for f, v in spec["y"].items()}
        assert {re.match(r"models/(\w+)/train_log\.csv$", f).group(1) for f in files} <= learned
        assert all(v in columns for v in files.values()), name
    val = next(e["training_val_nme"] for e in proposed["plots"] if "training_val_nme" in e)
    assert {f.split("/")[1] for f in val["y"]} == learned
    assert {Path(m).parent.name for m in proposed["metrics"]} >= learned - {"red", "red_static"}


@pytest.mark.skipif(shutil.which("dvc", path=str(Path(sys.executable).parent)) is None, reason="dvc not installed")
def test_dvc_renders_the_proposed_plots(tmp_path) -> None:
    """`dvc plots show --json` in a scratch repository with the proposed section and fabricated logs."""
    import json

    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent))
    proposed = proposed_dvc_yaml()
    for entry in proposed["plots"]:
        for f in next(iter(entry.values()))["y"]:
            _write_log(tmp_path / "models", Path(f).parent.name, [(1, 2.0, 0.3), (2, 1.0, 0.2)])
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": proposed["plots"]}))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=tmp_path, check=True, env=env)
    out = subprocess.run([dvc, "plots", "show", "--json"], cwd=tmp_path, check=True, env=env, capture_output=True,
                         text=True).stdout
    data = json.loads(out)["data"]
    for entry in proposed["plots"]:
        (name, spec), = entry.items()
        values = data[name][0]["content"]["data"]["values"]
        assert len(values) == 2 * len(spec["y"])  # two epochs of every file
