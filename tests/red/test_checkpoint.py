"""red/checkpoint.py: RED's weights saved and read back, and prediction's imports free of training code."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from redbench.red.checkpoint import load_model, save_model
from redbench.red.config import make_config
from redbench.red.model import RED


def test_save_then_load_gives_the_same_weights_and_config(tmp_path):
    torch.manual_seed(3)
    model = RED(make_config("tiny", input_size=32, variant="no_srnn", n_identities=3))
    save_model(tmp_path / "model.pt", model)
    back = load_model(tmp_path / "model.pt")
    assert back.cfg == model.cfg
    assert back.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(back.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_truncated_file_is_named(tmp_path):
    save_model(tmp_path / "model.pt", RED(make_config("tiny", input_size=32)))
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{tmp_path / 'model.pt'}: not a readable RED model"):
        load_model(tmp_path / "model.pt")


def test_predicting_red_imports_no_training_code():
    from redbench.pipeline.imports import REPO, closure
    from redbench.pipeline.stages import command_modules

    predict = closure(command_modules("redbench predict red 300vw"))
    train = closure(command_modules("redbench train red"))
    training = {REPO / "red" / "train.py", REPO / "red" / "method_train.py"}
    assert training <= train and not training & predict
    loaded = subprocess.run([sys.executable, "-c", "import sys; from redbench.methods import get_method; "
                             "get_method('red').load_module(); "
                             "print(sorted(m for m in sys.modules if m.startswith('redbench.red.')))"],
                            capture_output=True, text=True, check=True).stdout
    assert "redbench.red.method" in loaded and "redbench.red.train'" not in loaded and "method_train" not in loaded
