"""`redbench verdict`: verdict.csv, seeds.csv and verdict.md from result and model files."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from redbench.benchmark.verdict import VERDICT_COLUMNS, SEED_COLUMNS, check_rows, verdict_rows, write_verdict
from redbench.cli import main


def _test(b: str, diff: float, lo: float | None, hi: float | None, p: float | None, word: str) -> dict:
    return {"metric": "nme", "a": "red", "b": b, "n_seeds_a": 5, "n_seeds_b": 4, "n_identities": 9, "n_clips": 18,
            "diff": {"value": diff, "ci": [lo, hi]}, "tost": {"margin": 0.01, "p": p}, "verdict": word,
            "video": {}}


def _seeds(means: dict[str, float], tests: list[dict]) -> dict:
    return {"ci": 0.95, "equivalence_margin": 0.01, "methods": {
        m: {"seeds": [0, 1], "nme": [v - 0.001, v + 0.001], "mean": {"value": v, "ci": [v - 0.01, v + 0.01]}}
        for m, v in means.items()}, "tests": tests}


MEANS = {"red": 0.10, "red_static": 0.11, "sdm": 0.075, "heatmap": 0.068, "heatmap+smooth": 0.066, "mean_shape": 0.2}


def _results(tmp_path) -> None:
    gt_tests = [_test("red_static", -0.006, -0.03, 0.02, 0.4, "unresolved"),
                _test("heatmap", 0.032, 0.02, 0.045, 1.0, "worse"),
                _test("heatmap+smooth", 0.034, 0.021, 0.046, 1.0, "worse"),
                _test("sdm", 0.025, 0.01, 0.04, 0.99, "worse")]
    main_entry = {"box_protocol": "gt", "methods": {m: {"metrics": {"nme": {"value": v}}} for m, v in MEANS.items()},
                  "seeds": _seeds(MEANS, gt_tests)}
    track_means = {**MEANS, "sdm": 0.05}  # under tracking SDM is the best static method
    track_tests = [_test("red_static", -0.002, -0.006, 0.003, 0.001, "equivalent"),
                   _test("sdm", -0.012, -0.02, -0.004, 0.7, "better")]  # no sdm+smooth test: left out
    (tmp_path / "box-tracking").mkdir(parents=True)
    tracking = {"box_protocol": "tracking", "methods": {}, "seeds": _seeds(track_means, track_tests)}
    (tmp_path / "box-tracking" / "metrics.json").write_text(json.dumps({"datasets": {"300vw": tracking}}))
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"seeds": {"train": 0}, "datasets": {"300vw": main_entry},
         "protocols": {"tracking": {"results": "box-tracking/metrics.json"}}}))


def _model(root, method: str, seed: int, best: float, converged: bool | None) -> None:
    folder = root / (method if seed == 0 else f"seed{seed}/{method}")
    folder.mkdir(parents=True)
    (folder / "train_info.json").write_text(json.dumps({"method": method, "seed": seed, "seconds": 12.0}))
    metrics = {"best_val_nme_inter_ocular": best, "cost": {"flops": 3e12, "wall_s": 10.5}}
    if converged is not None:
        metrics["converged"] = converged
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_rows_pick_the_best_static_method_per_protocol(tmp_path):
    _results(tmp_path)
    rows = verdict_rows(tmp_path)
    got = [(r["method_b"], r["protocol"], r["verdict"]) for r in rows]
    assert got == [("red_static", "gt", "unresolved"), ("heatmap", "gt", "worse"), ("heatmap+smooth", "gt", "worse"),
                   ("red_static", "tracking", "equivalent"), ("sdm", "tracking", "better")]
    r = rows[1]
    assert (r["diff_points"], r["ci_low"], r["ci_high"], r["tost_margin"]) == pytest.approx((3.2, 2.0, 4.5, 1.0))
    assert (r["n_seeds_a"], r["n_seeds_b"]) == (5, 4)
    assert check_rows(rows) == []


def test_verdict_words_are_checked_against_the_numbers(tmp_path):
    _results(tmp_path)
    rows = verdict_rows(tmp_path)
    rows[0]["verdict"] = "equivalent"  # p = 0.4 and an interval across 0: unresolved, not equivalent
    rows[3]["verdict"] = "better"  # p = 0.001 < 0.05: equivalent, though the interval is below 0 at its centre
    assert check_rows(rows) == [
        "red vs red_static (gt): says 'equivalent', the numbers give 'unresolved'",
        "red vs red_static (tracking): says 'better', the numbers give 'equivalent'"]


def test_files_and_their_words_agree_with_their_numbers(tmp_path):
    _results(tmp_path / "results")
    _model(tmp_path / "models", "red", 0, 0.15, True)
    _model(tmp_path / "models", "red", 1, 0.17, False)
    _model(tmp_path / "models", "sdm", 0, 0.08, None)
    written = write_verdict(tmp_path / "results", tmp_path / "models", tmp_path / "report")
    assert sorted(p.name for p in written) == ["seeds.csv", "verdict.csv", "verdict.md"]
    with open(tmp_path / "report" / "verdict.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == VERDICT_COLUMNS and len(rows) == 5
    assert check_rows(rows) == []  # the file's own words follow from the file's own numbers
    with open(tmp_path / "report" / "seeds.csv", newline="") as f:
        seeds = list(csv.DictReader(f))
    assert tuple(seeds[0]) == SEED_COLUMNS
    assert [(s["method"], s["seed"], s["best_val_nme"], s["test_nme"], s["converged"]) for s in seeds] == [
        ("red", "0", "0.15", "0.099", "yes"), ("red", "1", "0.17", "0.101", "no"), ("sdm", "0", "0.08", "0.074", "")]
    assert seeds[0]["train_flops"] == "3e+12" and seeds[0]["train_wall_s"] == "10.5"
    md = (tmp_path / "report" / "verdict.md").read_text()
    assert "| red | heatmap | gt | 5 / 4 | +3.20 [+2.00, +4.50] | 1 (+-1) | worse |" in md
    assert "red - red_static under tracking boxes (5 / 4 seeds): -0.20 NME points [-0.60, +0.30]: equivalent " \
           "within +-1 point(s)." in md
    assert "Synthetic data" in md and "inter-ocular, 68 points" in md


def test_cli_writes_the_report_and_names_a_results_file_without_seeds(tmp_path):
    _results(tmp_path / "results")
    r = CliRunner().invoke(main, ["-q", "verdict", "--results", str(tmp_path / "results"),
                                  "--out", str(tmp_path / "report")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "report" / "verdict.csv").is_file() and not (tmp_path / "report" / "seeds.csv").exists()
    single = tmp_path / "single"
    single.mkdir()
    (single / "metrics.json").write_text(json.dumps({"datasets": {"300vw": {"box_protocol": "gt", "methods": {}}}}))
    r = CliRunner().invoke(main, ["-q", "verdict", "--results", str(single), "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and f"{single / 'metrics.json'}: 300vw has no `seeds`" in r.output
    assert not (tmp_path / "x").exists()
    assert CliRunner().invoke(main, ["verdict", "--help"]).exit_code == 0


def test_the_reference_report_writes_the_verdict_seeds_and_diagnostics(tmp_path):
    """The report's verdict files on the reference layout (models/seed<k>/<method>, ablations beside them):
    verdict.csv and verdict.md as `redbench verdict` writes them, seeds.csv without the ablations (an ablation
    is RED with another variant, not another seed), temporal_diagnostics.csv from each RED model's
    diagnostics.json, and the README's verdict block."""
    results, models = tmp_path / "results", tmp_path / "models"
    _results(results)
    for seed, best in ((0, 0.15), (1, 0.17)):
        for method in ("red", "red_static"):
            folder = models / f"seed{seed}" / method
            folder.mkdir(parents=True)
            (folder / "train_info.json").write_text(json.dumps({"method": method, "seed": seed}))
            (folder / "metrics.json").write_text(json.dumps({"best_val_nme_inter_ocular": best, "converged": True}))
            (folder / "diagnostics.json").write_text(json.dumps(
                {"as_is": best, "state_reset": best + (0.01 if method == "red" else 0.0), "shuffled": best}))
    ablation = models / "ablations" / "no_srnn-seed0"
    ablation.mkdir(parents=True)
    (ablation / "train_info.json").write_text(json.dumps({"method": "red", "seed": 0}))
    from redbench.benchmark.reference_report import rewrite_blocks, verdict_files

    files = verdict_files(models, results, json.loads((results / "metrics.json").read_text()))
    write_verdict(results, None, tmp_path / "alone")
    assert files["verdict.csv"] == (tmp_path / "alone" / "verdict.csv").read_text()
    assert files["verdict.md"] == (tmp_path / "alone" / "verdict.md").read_text()
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- reference:verdict -->\nold\n<!-- /reference:verdict -->\nb\n")
    assert rewrite_blocks(readme, {"verdict": files["verdict.md"]}) == (
        f"a\n<!-- reference:verdict -->\n{files['verdict.md']}<!-- /reference:verdict -->\nb\n")
    seeds = list(csv.DictReader(files["seeds.csv"].splitlines()))
    assert [(r["method"], r["seed"], r["best_val_nme"]) for r in seeds] == [
        ("red", "0", "0.15"), ("red", "1", "0.17"), ("red_static", "0", "0.15"), ("red_static", "1", "0.17")]
    spread = {line.split(" | ")[0]: line for line in files["seed_spread.md"].splitlines()[2:]}
    # red: best validation 0.15 and 0.17 -> mean 16.00 %, sd 1.41 points; test NMEs 0.099 (seed 0) and 0.101
    assert spread["| red"] == "| red | 2 | 16.00 | 1.41 | 15.00 - 17.00 | 10.00 | 0.14 | 9.90 - 10.10 |"
    assert files["temporal_diagnostics.csv"].splitlines()[0] == "method,seed,as_is,state_reset,shuffled"
    diag = list(csv.DictReader(files["temporal_diagnostics.csv"].splitlines()))
    assert [(r["method"], r["seed"], r["state_reset"]) for r in diag] == [
        ("red", "0", "0.16"), ("red", "1", "0.18"), ("red_static", "0", "0.15"), ("red_static", "1", "0.17")]


def test_the_readme_verdict_is_the_committed_reference_report():
    """Once the reference run's report is committed, the README's verdict block is its verdict.md, and every
    verdict word of verdict.csv follows from that row's own numbers."""
    from pathlib import Path

    from redbench.benchmark.reference_report import rewrite_blocks

    repo = Path(__file__).resolve().parents[2]
    report = repo / "reference" / "report"
    if not (report / "verdict.csv").is_file():
        pytest.skip("the reference run's report is not committed yet (docs/reference_run.md)")
    with open(report / "verdict.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and check_rows(rows) == []
    readme = repo / "README.md"
    assert rewrite_blocks(readme, {"verdict": (report / "verdict.md").read_text()}) == readme.read_text()
