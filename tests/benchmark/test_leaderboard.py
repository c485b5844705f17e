from __future__ import annotations

import copy
import json

import pytest

from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, run_compare
from redbench.benchmark.leaderboard import latex_escape, main_table, to_html, to_latex, to_markdown
from redbench.benchmark.results import ResultsError, build_results, load_results, summary, validate


@pytest.fixture()
def results(world, fake_shards):
    root, _ = world
    cfg = CompareConfig(methods=("bad", "good"), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                        shards_dir=str(fake_shards), reference_method="good", bootstrap=BootstrapConfig(resamples=50))
    entries, _ = run_compare(cfg)
    return build_results(entries, cfg, "0123456789abcdef")


def test_results_validate_and_round_trip(results, tmp_path):
    validate(results)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(results))
    assert load_results(path)["datasets"]["300vw"]["n_frames"] == 32
    broken = copy.deepcopy(results)
    del broken["datasets"]["300vw"]["box_protocol"]
    with pytest.raises(ResultsError, match=r"datasets\.300vw: missing field\(s\) \['box_protocol'\]"):
        validate(broken)
    broken = copy.deepcopy(results)
    broken["datasets"]["300vw"]["methods"]["good"]["metrics"]["nme"] = 0.1
    with pytest.raises(ResultsError, match=r"methods\.good\.metrics\.nme"):
        validate(broken)
    broken = copy.deepcopy(results)
    broken["schema_version"] = 7
    with pytest.raises(ResultsError, match="schema_version 7"):
        validate(broken)


def test_summary_keys(results):
    s = summary(results)
    assert s["synthetic/300vw/good/nme"] == results["datasets"]["300vw"]["methods"]["good"]["metrics"]["nme"]["value"]
    assert "synthetic/300vw/good/auc@0.08" in s and "synthetic/300vw/good/jitter" in s and "synthetic/300vw/good/nme/video" in s
    assert "synthetic/300vw/good/auc@0.08/video" not in s
    assert any(k.startswith("synthetic/300vw/category") for k in s)


def test_main_table_sorted_by_nme_and_labelled(results):
    t = main_table(results, "300vw")
    assert [r[""] for r in t.rows] == ["good", "bad"]  # sorted by NME, whatever the method order
    assert "synthetic" in t.title and "box protocol: gt" in t.caption and "68 points" in t.caption
    assert t.columns[1].header == "NME % (i-ocular/68, frame-pooled)"


def test_the_training_cost_is_shown_beside_each_row(world, fake_shards):
    from redbench.benchmark.leaderboard import _cell

    from .conftest import write_method  # noqa: F401 (fixture module helpers)

    root, gt = world
    write_method(root, gt, "good", gt.landmarks + 0.5, train_flops=3.2e12)
    cfg = CompareConfig(methods=("bad", "good"), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                        shards_dir=str(fake_shards), reference_method="good", bootstrap=BootstrapConfig(resamples=0))
    entries, _ = run_compare(cfg)
    t = main_table(build_results(entries, cfg, "0123456789abcdef"), "300vw")
    col = next(c for c in t.columns if c.key == "train_flops")
    cells = {r[""]: _cell(r["train_flops"], col.kind) for r in t.rows}
    assert cells == {"good": "3.2e+12", "bad": "n/a"}  # bad has no training cost recorded


def test_real_data_is_not_marked_synthetic(results):
    real = copy.deepcopy(results)
    real["datasets"]["300vw"]["data_source"] = "real"
    md = to_markdown(real)
    assert "SYNTHETIC" not in md and "300vw (real)" in md
    assert "SYNTHETIC DATA" in to_markdown(results)


def test_latex_escaping(results):
    assert latex_escape("a_b & 5% #1") == r"a\_b \& 5\% \#1"
    tex = to_latex(results)
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 3
    assert "i-ocular/68" in tex and "_" not in tex.replace(r"\_", "").split("\n", 2)[2]


def test_html_numbers_have_sort_keys(results):
    html = to_html(results)
    v = results["datasets"]["300vw"]["methods"]["good"]["metrics"]["nme"]["value"]
    assert f"data-v='{v}'" in html
    assert "addEventListener('click'" in html
