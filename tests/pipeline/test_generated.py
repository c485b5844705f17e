"""The generated pipeline files: the committed ones are what `redbench pipeline write` makes, and the generator
follows the tables and the params it is given."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from redbench.pipeline.imports import REPO
from redbench.pipeline.stages import default_stages, reference_stages
from redbench.pipeline.write import dvc_yaml, generated, stale


def test_the_committed_files_are_the_generators_output() -> None:
    assert sorted(map(str, generated())) == ["dvc.yaml", "params.yaml", "reference/dvc.yaml"]
    assert list(stale()) == [], "run `redbench pipeline write`"


def test_check_fails_on_a_stale_file_and_write_repairs_it(tmp_path: Path) -> None:
    """In a copy of the repository's generated files and params: a hand edit is caught, then rewritten."""
    for rel in ("params.yaml", "dvc.yaml", "reference/params.yaml", "reference/dvc.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((REPO / rel).read_text())
    assert stale(tmp_path) == {}
    (tmp_path / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text().replace("- train\n", "- train.seed\n", 1))
    assert list(stale(tmp_path)) == [Path("dvc.yaml")]
    from redbench.pipeline.write import write

    assert write(tmp_path) == [Path("dvc.yaml")]
    assert (tmp_path / "dvc.yaml").read_text() == (REPO / "dvc.yaml").read_text()


def test_the_commands_check_the_repository() -> None:
    from redbench.cli import main

    result = CliRunner().invoke(main, ["pipeline", "check"])
    assert result.exit_code == 0 and "up to date" in result.output, result.output


def _params(**compare) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["compare"].update(compare)
    return params


def test_the_stages_follow_the_compared_rows_and_datasets() -> None:
    stages = default_stages(_params(methods=["sdm", "sdm+smooth", "red"], datasets=["300vw", "tf"]))
    assert list(stages) == ["fetch", "preprocess", "train_sdm", "train_red", "predict_sdm", "predict_sdm_smooth",
                            "predict_red", "compare", "training_curves"]
    assert stages["training_curves"].deps == ["data/shards/300vw/manifest.json", "models/sdm/train_log.csv",
                                              "models/red/train_log.csv"]
    assert stages["fetch"].foreach == ["300vw", "tf"]
    assert stages["predict_sdm_smooth"].cmds == ["redbench predict sdm+smooth 300vw", "redbench predict sdm+smooth tf"]
    assert stages["predict_sdm_smooth"].deps == ["models/sdm", "data/shards/${item}"]
    assert stages["predict_sdm_smooth"].params == ["methods.sdm", "smoothing", "predict"]
    # one row of RED's module: a plain foreach over datasets, reading the weights and record, not the checkpoint
    assert stages["predict_red"].foreach == ["300vw", "tf"] and stages["predict_red"].matrix is None
    assert stages["predict_red"].deps == ["models/red/model.pt", "models/red/train_info.json", "data/shards/${item}"]
    assert stages["compare"].deps == ["predictions", "data/shards/300vw/manifest.json", "data/shards/tf/manifest.json"]


def test_a_stage_declares_the_union_of_its_items_imports_folded_into_folders() -> None:
    body = yaml.safe_load(dvc_yaml(default_stages(_params()), "", "params.yaml"))["stages"]
    sdm = body["train_sdm"]["deps"]
    assert sdm[0] == "data/shards/300vw" and "baselines/sdm.py" in sdm and "baselines/ert.py" not in sdm
    assert "redbench/cli/train_cmd.py" in sdm and "redbench/cli/predict_cmd.py" not in sdm
    red = body["predict_red"]
    assert red["matrix"] == {"method": ["red", "red_static"], "dataset": ["300vw", "300w", "tf"]}
    reference = yaml.safe_load(dvc_yaml(reference_stages(yaml.safe_load((REPO / "reference/params.yaml").read_text())),
                                        "../", "reference/params.yaml"))["stages"]
    assert reference["ablations"]["matrix"] == {"variant": ["no_srnn", "no_cls", "reg_only"], "seed": [0, 1, 2]}
    assert reference["ablations"]["cmd"].startswith(
        "redbench train red --set variant=${item.variant} --seed ${item.seed}")
    # every learned method with five seeds into models/seed<k>/<method>; the reference makes its own data
    red_train = reference["train_red"]
    assert red_train["matrix"] == {"method": ["red", "red_static"], "seed": [0, 1, 2, 3, 4]}
    assert red_train["deps"][0] == "data/shards/300vw" and "../red/train.py" in red_train["deps"]
    assert {"models/seed${item.seed}/${item.method}/metrics.json": {"cache": False}} in red_train["outs"]
    assert reference["train_heatmap"]["matrix"] == {"method": ["heatmap"], "seed": [0, 1, 2, 3, 4]}
    assert reference["train_mean_shape"]["matrix"] == {"method": ["mean_shape"], "seed": [0]}
    assert reference["fetch"]["do"]["outs"] == ["data/raw/${item}"]
    # every row under every box protocol and seed, each reading only its own seed's model
    boxes = reference["predict_sdm_boxes"]
    assert boxes["matrix"] == {"row": ["sdm", "sdm+smooth"], "seed": [0, 1, 2, 3, 4],
                               "box": ["gt_jitter", "detector", "tracking"]}
    assert boxes["deps"][:2] == ["models/seed${item.seed}/sdm", "data/shards/300vw"]
    assert boxes["outs"] == ["predictions/box-${item.box}/${item.row}/seed-${item.seed}/300vw.h5"]
    assert reference["predict_red_seeds"]["matrix"] == {"seed": [1, 2, 3, 4]}
    assert reference["predict_ert_pretrained_boxes"]["outs"] == [
        "predictions/box-${item.box}/ert_pretrained/300vw.h5"]
    code = [d for d in reference["train_sdm"]["deps"] if not d.startswith("data/")]
    assert "../baselines/sdm.py" in code and all(d.startswith("../") for d in code)
    # the positive control of each seed reads that seed's models and imports their modules
    control = reference["control"]
    assert control["matrix"] == {"seed": [0, 1, 2, 3, 4]}
    assert "-m heatmap=models/seed${item.seed}/heatmap" in control["cmd"] and "--oracle red_static" in control["cmd"]
    assert "models/seed${item.seed}/red/model.pt" in control["deps"] and "models/seed${item.seed}/sdm" in control["deps"]
    assert "mean_shape" not in control["cmd"]
    assert {"../baselines/heatmap.py", "../benchmark/positive_control.py", "../red/method.py"} <= set(control["deps"])
    assert "control" in reference["report"]["deps"] and "--control control" in reference["report"]["cmd"]
