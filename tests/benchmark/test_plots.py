from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redbench.benchmark import metrics as M
from redbench.benchmark.aggregate import BootstrapConfig
from redbench.benchmark.compare import CompareConfig, score_dataset, summarise_dataset
from redbench.benchmark.ground_truth import make_ground_truth
from redbench.benchmark.leaderboard import to_html, to_markdown
from redbench.benchmark.plots import ced_table, plot_stability, write_plots
from redbench.benchmark.results import build_results
from redbench.benchmark.store import PredictionMeta, write_predictions


@pytest.fixture()
def stills(tmp_path):
    """A 300-W-like dataset: 6 still images (clips of one frame), two subsets, two methods."""
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 100, (6, 68, 2))
    g[:, 36], g[:, 45] = [20, 50], [80, 50]  # inter-ocular 60
    gt = make_ground_truth("300w", "synthetic", "h", [f"300w/img{i}" for i in range(6)], np.zeros(6), g,
                           subset=["common"] * 4 + ["challenging"] * 2)
    files = {}
    for name, px in (("a", 3.0), ("b", 6.0)):
        pred = g.copy()
        pred[..., 0] += px  # NME = px / 60 on every frame
        files[name] = tmp_path / name / "300w.h5"
        write_predictions(files[name], PredictionMeta(name, "1", "c", "t", "gt", "300w", "synthetic", "h", 0.0),
                          gt.clip_ids, gt.frame_indices, pred)
    cfg = CompareConfig(methods=("a", "b"), datasets=("300w",), reference_method="a",
                        bootstrap=BootstrapConfig(resamples=50))
    scores = score_dataset(gt, files, cfg)
    return cfg, scores, build_results({"300w": summarise_dataset(scores, cfg)}, cfg, "h")


def test_ced_table_matches_metrics_ced(stills):
    cfg, scores, _ = stills
    df = ced_table({"300w": scores}, 0.2, 41)
    assert set(df.subset) == {"all", "challenging", "common"}
    a = df[(df.method == "a") & (df.subset == "all")]
    np.testing.assert_allclose(a.ced, M.ced(np.full(6, 3 / 60), a.threshold))
    assert a.ced.iloc[0] == 0.0 and a.ced.iloc[-1] == 1.0
    assert a[a.threshold >= 0.05].ced.min() == 1.0 and a[a.threshold < 0.05].ced.max() == 0.0


def test_stills_have_no_stability_and_still_plot(stills, tmp_path):
    _, _, results = stills
    e = results["datasets"]["300w"]
    assert e["methods"]["a"]["metrics"]["nme"]["value"] == pytest.approx(0.05)
    assert e["methods"]["a"]["metrics"]["motion"] == {"value": None, "ci": [None, None]}
    assert e["methods"]["a"]["metrics"]["jitter"]["value"] is None
    assert e["n_clips"] == 6
    assert plot_stability(e, "300w", results["config"]["scoring"], tmp_path / "s.png") is None
    figs = write_plots(results, ced_table({"300w": stills[1]}, 0.2, 41), tmp_path / "plots")
    names = [Path(p).name for p, _ in figs]
    assert "ced_300w.png" in names and "stability_300w.png" not in names
    assert "breakdown_300w_subset.png" in names
    md = to_markdown(results)
    assert "| a | 5.00 |" in md  # NME 3/60 = 5.00 %, identical on every frame: no interval, not a zero-width one
    assert "n/a" in md  # stability of stills
    assert "data-v='Infinity'>n/a<" in to_html(results)  # sorts last, numerically, in the page
