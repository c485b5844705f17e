"""`redbench compare` and `redbench check` end to end on fake shards, plus the files they write."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench.cli import main

from .conftest import write_method


def _params(root, shards, methods=("good", "bad"), **extra) -> str:
    cfg = {"methods": list(methods), "datasets": ["300vw"], "predictions_dir": str(root / "predictions"),
           "shards_dir": str(shards), "out_dir": str(root / "results"), "reference_method": "good",
           "bootstrap": {"resamples": 100, "seed": 0}, **extra}
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump({"compare": cfg, "train": {"seed": 7}}))
    return str(path)


def _run(*args):
    return CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)


def test_help():
    for cmd in ("compare", "check"):
        r = _run(cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.output


def test_compare_writes_every_output(world, fake_shards):
    root, gt = world
    r = _run("--params", _params(root, fake_shards), "compare")
    assert r.exit_code == 0, r.output
    assert "32 of 32 test frames scored" in r.output
    assert r.output.index("good") < r.output.index("bad")  # ranked by NME
    out = root / "results"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["schema_version"] == 1 and metrics["protocol_version"] == 1
    assert metrics["seeds"] == {"bootstrap": 0, "train": 7} and len(metrics["params_hash"]) == 16
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", metrics["git_commit"])
    assert metrics["datasets"]["300vw"]["manifest_sha256"] == gt.manifest_sha256
    summary = json.loads((out / "summary.json").read_text())
    assert summary["synthetic/300vw/good/nme"] == metrics["datasets"]["300vw"]["methods"]["good"]["metrics"]["nme"]["value"]
    assert all(not isinstance(v, (dict, list)) for v in summary.values())  # flat, for `dvc metrics show`
    # CED table: non-decreasing per method, reaching the fraction of frames with NME <= ced_max
    rows = list(csv.DictReader(io.StringIO((out / "ced.csv").read_text())))
    curve = [float(r["ced"]) for r in rows if r["method"] == "good" and r["subset"] == "all"]
    assert len(curve) == 201 and all(a <= b for a, b in zip(curve, curve[1:]))
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "ced_300vw.png" in pngs and "stability_300vw.png" in pngs and "breakdown_300vw_yaw.png" in pngs
    assert all((out / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    # leaderboards: the synthetic warning and the labels everywhere
    md = (out / "leaderboard.md").read_text()
    assert "SYNTHETIC DATA" in md and "300vw (synthetic)" in md and "box protocol: gt" in md
    assert "inter-ocular (outer eye corners 36/45)" in md and "68 points" in md and "thresholds 0.08/0.1" in md
    tex = (out / "leaderboard.tex").read_text()
    assert r"\toprule" in tex and r"300vw (synthetic)" in tex and "NME \\%" in tex
    html = (out / "leaderboard.html").read_text()
    assert "<script>" in html and "sortable" in html and html.count("data:image/png;base64,") == len(pngs)
    assert not re.search(r"(src|href)=['\"]https?:", html)  # self-contained
    lb = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    row = next(r for r in lb if r["method"] == "good" and r["metric"] == "nme" and r["breakdown"] == "all")
    assert float(row["value"]) == pytest.approx(summary["synthetic/300vw/good/nme"])
    assert (row["data_source"], row["normaliser"], row["points"], row["box_protocol"]) == (
        "synthetic", "inter_ocular", "68", "gt")


def test_compare_refuses_then_intersects(world, fake_shards):
    root, gt = world
    rows = np.arange(len(gt) - 2)
    write_method(root, gt, "partial", gt.landmarks[rows], rows=rows)
    params = _params(root, fake_shards, methods=("good", "partial"))
    r = _run("--params", params, "compare")
    assert r.exit_code == 1 and "do not cover the same frames" in r.output and "lacks 2 frame(s)" in r.output
    r = _run("--params", params, "compare", "--intersect", "--no-plots")
    assert r.exit_code == 0, r.output
    assert "30 of 32 test frames scored" in r.output and "--intersect dropped 2 frame(s)" in r.output
    assert "good: 2" in r.output


def test_check_passes_on_reference_and_fails_on_worse_predictions(world, fake_shards):
    root, gt = world
    params = _params(root, fake_shards)
    assert _run("--params", params, "compare", "--no-plots").exit_code == 0
    metrics, ref = root / "results" / "metrics.json", root / "reference.json"
    r = _run("--params", params, "check", str(metrics), str(ref), "--update")
    assert r.exit_code == 0 and ref.exists()
    r = _run("--params", params, "check", str(metrics), str(ref))
    assert r.exit_code == 0, r.output
    assert "regressed" not in r.output
    # a deliberately worsened prediction file for "good"
    rng = np.random.default_rng(9)
    write_method(root, gt, "good", gt.landmarks + rng.normal(0, 2.5, gt.landmarks.shape))
    assert _run("--params", params, "compare", "--no-plots").exit_code == 0
    r = _run("--params", params, "check", str(metrics), str(ref))
    assert r.exit_code == 1
    assert re.search(r"synthetic/300vw/good/nme\s+\S+\s+\S+\s+\+\S+\s+\S+\s+regressed", r.output)
    assert re.search(r"synthetic/300vw/good/auc@0.08\s.*regressed", r.output)  # lower AUC is worse
    assert "synthetic/300vw/bad/nme" not in r.output  # unchanged method: not listed


def test_check_strict_and_incomparable(world, fake_shards):
    root, _ = world
    params = _params(root, fake_shards)
    assert _run("--params", params, "compare", "--no-plots").exit_code == 0
    metrics, ref = root / "results" / "metrics.json", root / "reference.json"
    assert _run("--params", params, "check", str(metrics), str(ref), "--update").exit_code == 0
    obj = json.loads(ref.read_text())
    obj["metrics"]["synthetic/300vw/good/nme"] *= 2  # the reference is stale: the run is much better now
    ref.write_text(json.dumps(obj))
    r = _run("--params", params, "check", str(metrics), str(ref))
    assert r.exit_code == 0 and "improved" in r.output
    r = _run("--params", params, "check", str(metrics), str(ref), "--strict")
    assert r.exit_code == 1
    obj["protocol"]["data_source"]["300vw"] = "real"  # the protocol record, not "source", is checked
    ref.write_text(json.dumps(obj))
    r = _run("--params", params, "check", str(metrics), str(ref))
    assert r.exit_code == 1 and "incomparable: 300vw: data source synthetic != reference's real" in r.output
    r = _run("--params", params, "check", str(metrics), str(root / "absent.json"))
    assert r.exit_code == 1 and "absent.json" in r.output


def test_compare_reports_bad_params_and_missing_files(world, fake_shards):
    root, _ = world
    r = _run("--params", _params(root, fake_shards, bogus=1), "compare")
    assert r.exit_code == 1 and "compare: unknown key(s) ['bogus']" in r.output
    r = _run("--params", _params(root, fake_shards, scoring={"norm": "face"}), "compare")
    assert r.exit_code == 1 and "norm 'face' unknown" in r.output
    r = _run("--params", _params(root, fake_shards, methods=("good", "absent")), "compare")
    assert r.exit_code == 1 and "absent/300vw.h5" in r.output


def test_the_commit_is_dirty_only_when_the_code_differs(tmp_path):
    """`dvc repro` rewrites dvc.lock and results/ while it runs: a run of committed code is still clean."""
    import shutil
    import subprocess

    from redbench.benchmark.results import CODE_PATHS, git_commit
    from redbench.pipeline.imports import CODE_DIRS

    assert set(CODE_PATHS) == {*CODE_DIRS, "pyproject.toml"}
    if shutil.which("git") is None:
        pytest.skip("needs git")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    (tmp_path / "redbench").mkdir()
    for rel in ("redbench/a.py", "dvc.lock", "pyproject.toml"):
        (tmp_path / rel).write_text("x\n")
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "c"], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    (tmp_path / "dvc.lock").write_text("rewritten by dvc\n")
    assert git_commit(tmp_path / "redbench") == head
    (tmp_path / "pyproject.toml").write_text("changed\n")
    assert git_commit(tmp_path / "redbench") == head + "-dirty"
