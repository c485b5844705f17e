"""`redbench report` (redbench.benchmark.reference_report): the convergence and ablation tables and the
Markdown blocks, from hand-made logs."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from redbench.benchmark import reference_report


@pytest.fixture(scope="module")
def report():
    return reference_report


def _run(folder: Path, vals: list[float], flops_per_step: float = 10.0, steps_per_eval: int = 10) -> None:
    folder.mkdir(parents=True)
    rows = [{"epoch": i + 1, "step": (i + 1) * steps_per_eval, "train_loss": 1.0, "val_nme_inter_ocular": v,
             "train_flops": (i + 1) * steps_per_eval * flops_per_step, "stop": "wait"} for i, v in enumerate(vals)]
    with open(folder / "train_log.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cost = {"steps": rows[-1]["step"], "frames_seen": 4 * rows[-1]["step"], "wall_s": 12.0, "threads": 1,
            "flops": rows[-1]["train_flops"], "stopped": "plateau"}
    (folder / "metrics.json").write_text(json.dumps({"converged": vals[-1] >= min(vals[:-2]) * 0.98, "cost": cost}))


def test_tail_improvement_is_relative_to_the_best_before_the_last_fifth(report, tmp_path):
    rows = [{"step": s, "val_nme_inter_ocular": v} for s, v in zip(range(10, 110, 10), [.3, .2, .15, .12, .11,
                                                                                        .105, .104, .103, .1, .099])]
    # last 20 % of steps 10..100: steps > 82 -> 0.1 and 0.099 against the best before, 0.103
    assert report.tail_improvement(rows) == pytest.approx((0.103 - 0.099) / 0.103)


def test_tables_and_readme_blocks(report, tmp_path):
    models = tmp_path / "models"
    _run(models / "red", [0.3, 0.2, 0.15, 0.149, 0.1495])
    _run(models / "sdm", [0.2, 0.12, 0.1, 0.0999], flops_per_step=1e3, steps_per_eval=1)
    _run(models / "ablations" / "no_srnn-seed0", [0.3, 0.25, 0.2])
    _run(models / "ablations" / "no_srnn-seed1", [0.3, 0.22, 0.21])
    runs = {m: report.read_run(models / m) for m in ("red", "sdm")}
    table = report.convergence_table(runs)
    red_line = next(line for line in table.splitlines() if line.startswith("| red |"))
    assert "| 5 | 50 | 200 | 5.00e+02 | 12 (1) | 0.1490 |" in red_line and "| yes | plateau |" in red_line
    abl = report.ablation_table(report.ablation_runs(models))
    no_srnn = next(line for line in abl.splitlines() if line.startswith("| no_srnn |"))
    assert "| 0.2000 | 0.2100 | not run | 0.2050 [0.2000, 0.2100] |" in no_srnn
    assert "not run" in next(line for line in abl.splitlines() if line.startswith("| no_cls |"))
    doc = tmp_path / "reference_run.md"
    doc.write_text("a\n<!-- reference:ablations -->\nold\n<!-- /reference:ablations -->\nb\n")
    # the blocks the file holds are replaced; the others are not its business
    assert report.rewrite_blocks(doc, {"ablations": abl, "convergence": table}) == \
        f"a\n<!-- reference:ablations -->\n{abl}<!-- /reference:ablations -->\nb\n"
    with pytest.raises(ValueError, match="holds no <!-- reference:NAME -->.*NAME: convergence"):
        report.rewrite_blocks(doc, {"convergence": table})
    report.equal_compute(runs, tmp_path / "ec.png")
    with open(tmp_path / "ec.csv", newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 5 + 4
    assert (tmp_path / "ec.png").stat().st_size > 1000


def _paired(b: str, mean_a: float, mean_b: float) -> dict:
    d = mean_a - mean_b
    return {"metric": "nme", "a": "red", "b": b, "mean_a": mean_a, "mean_b": mean_b,
            "diff": {"value": d, "ci": [d - 0.01, d + 0.01]}, "wilcoxon_p": 0.03}


def test_paired_table_puts_the_other_seeds_of_red_static_after_seed_0(report):
    seed0 = {"datasets": {"300vw": {"paired_tests": [_paired("sdm", 0.10, 0.07), _paired("red_static", 0.10, 0.15),
                                                     _paired("heatmap", 0.10, 0.06)]}}}
    seed1 = {"datasets": {"300vw": {"paired_tests": [_paired("red_static", 0.16, 0.13)]}}}
    seed2 = {"datasets": {"300vw": {"paired_tests": [_paired("red_static", 0.12, 0.14)]}}}
    table = report.paired_table(seed0, {2: seed2, 1: seed1})
    rows = [line.split(" | ")[:3] for line in table.splitlines()[2:]]
    assert rows == [["| sdm", "0", "10.00"], ["| red_static", "0", "10.00"], ["| red_static", "1", "16.00"],
                    ["| red_static", "2", "12.00"], ["| heatmap", "0", "10.00"]]
    assert "| +3.00 [+2.00, +4.00] |" in table.splitlines()[4]
    assert len(report.paired_table(seed0).splitlines()) == 2 + 3


def test_seed_1_of_full_and_static_comes_from_the_seed1_models(report, tmp_path):
    models = tmp_path / "models"
    _run(models / "red", [0.3, 0.25, 0.2])
    _run(models / "seed1" / "red", [0.3, 0.28, 0.25])
    _run(models / "ablations" / "full-seed1", [0.9, 0.85, 0.8])  # full and static are not ablation rows: not read
    abl = report.ablation_table(report.ablation_runs(models))
    full = next(line for line in abl.splitlines() if line.startswith("| full |"))
    assert "| 0.2000 | 0.2500 | not run | 0.2250 [0.2000, 0.2500] |" in full


def test_a_missing_seed_metrics_file_is_named_and_nothing_is_written(tmp_path):
    from redbench.cli import main

    out, doc = tmp_path / "report", tmp_path / "doc.md"
    doc.write_text("<!-- reference:ablations -->\nold\n<!-- /reference:ablations -->\n")
    result = CliRunner().invoke(main, ["report", "--models", str(tmp_path / "models"), "--results",
                                       str(tmp_path / "results"), "--results-seed", "1", str(tmp_path / "seed1"),
                                       "--out", str(out), "--into", str(doc)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'seed1' / 'metrics.json'}: no such metrics file" in result.output
    assert not out.exists() and "old" in doc.read_text()


def test_the_report_command_writes_the_folder_and_the_blocks(tmp_path):
    from redbench.cli import main

    models = tmp_path / "models"
    _run(models / "red", [0.3, 0.2, 0.15, 0.149, 0.1495])
    _run(models / "ablations" / "reg_only-seed0", [0.3, 0.25, 0.2])
    doc = tmp_path / "doc.md"
    doc.write_text("x\n<!-- reference:ablations -->\nold\n<!-- /reference:ablations -->\n")
    result = CliRunner().invoke(main, ["report", "--models", str(models), "--results", str(tmp_path / "none"),
                                       "--out", str(tmp_path / "report"), "--into", str(doc)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "ablations.md", "convergence.md", "equal_compute.csv", "equal_compute.png"]
    text = doc.read_text()
    assert "old" not in text and "| reg_only | maps, f_CLS, f_sRNN (f_REG alone) | 0.2000 | not run |" in text


def test_the_readme_headline_and_the_reference_page_are_the_committed_results(report):
    """The README's table and docs/reference_run.md's paired table are what `redbench report --into` writes
    from the committed reference results."""
    repo = Path(__file__).resolve().parents[2]
    metrics = json.loads((repo / "reference" / "results" / "metrics.json").read_text())
    seeds = {s: json.loads((repo / "reference" / f"results_seed{s}" / "metrics.json").read_text()) for s in (1, 2)}
    readme, page = repo / "README.md", repo / "docs" / "reference_run.md"
    assert report.rewrite_blocks(readme, {"headline": report.headline_table(metrics)}) == readme.read_text()
    assert report.rewrite_blocks(page, {"paired": report.paired_table(metrics, seeds)}) == page.read_text()
    heatmap = next(line for line in report.headline_table(metrics).splitlines() if line.startswith("| heatmap |"))
    assert heatmap.startswith("| heatmap | 6.68 [4.7, 8.8] | 11.15 | 0.359 | 23.5 |")


def _control(folder: Path, seed: int, red: float, static: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{seed}.json").write_text(json.dumps({"nme_inter_ocular": {
        "still_occluded": {"red": red, "red_static": static, "oracle": 0.1}}}))


def test_the_positive_control_is_summed_up_over_seeds_with_red_paired_to_red_static(report, tmp_path):
    _control(tmp_path / "control", 0, 0.20, 0.25)
    _control(tmp_path / "control", 1, 0.30, 0.28)
    (tmp_path / "control" / "seed-x.json").write_text("{}")  # not a seed file: skipped
    rows = report.control_rows(tmp_path / "control")
    assert [(r["method"], r["seed"]) for r in rows] == [("oracle", 0), ("oracle", 1), ("red", 0), ("red", 1),
                                                        ("red_static", 0), ("red_static", 1)]
    table = report.control_table(rows)
    assert "| still_occluded | red | 2 | 25.00 [20.00, 30.00] |" in table
    # per seed: -5 and +2 points
    assert "| still_occluded | red - red_static (points, paired by seed) | 2 | -1.50 [-5.00, 2.00] |" in table
    assert "| still_occluded | oracle | 2 | 10.00 [10.00, 10.00] |" in table


def test_the_report_writes_the_control_table_and_csv(tmp_path):
    from redbench.cli import main

    _control(tmp_path / "control", 0, 0.20, 0.25)
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- reference:positive_control -->\nold\n<!-- /reference:positive_control -->\n")
    result = CliRunner().invoke(main, ["report", "--models", str(tmp_path / "models"), "--results",
                                       str(tmp_path / "none"), "--control", str(tmp_path / "control"),
                                       "--out", str(tmp_path / "report"), "--into", str(doc)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == ["positive_control.csv",
                                                                      "positive_control.md"]
    lines = (tmp_path / "report" / "positive_control.csv").read_text().splitlines()
    assert lines[0] == "condition,method,seed,nme" and len(lines) == 4
    assert "old" not in doc.read_text() and "| still_occluded | red - red_static" in doc.read_text()
