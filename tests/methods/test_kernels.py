"""params torch.cpu_kernels: portable kernels give the same weights whatever instruction set the CPU offers.

Another CPU is emulated by capping each library's dispatch below this machine's: oneDNN (ONEDNN_MAX_CPU_ISA),
MKL (MKL_ENABLE_INSTRUCTIONS) and ATen (ATEN_CPU_CAPABILITY). Each training runs in a fresh process, since the
libraries read these variables once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from redbench.config import ConfigError, load_params, section
from redbench.methods.kernels import TorchParams, cpu_kernels

# Three training steps of the tiny RED (conv, group norm, transposed conv, LSTM, AdamW) at one thread; prints a
# hash of the weights and of a prediction after them.
TRAIN = """
import hashlib, sys
import torch
from redbench.methods.kernels import cpu_kernels
with cpu_kernels(sys.argv[1]):
    from redbench.red.losses import red_loss
    from redbench.red.method import Config
    from redbench.red.model import RED
    from redbench.red.toy import ToyClips
    torch.set_num_threads(1)
    method = Config()
    cfg = method.model_config(n_identities=4)
    torch.manual_seed(0)
    model = RED(cfg)
    data = ToyClips(2, 3, cfg.input_size, n_identities=4)
    batch = torch.utils.data.default_collate([data[i] for i in range(2)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(3):
        loss, _ = red_loss(model(batch["image"]), batch["landmarks"], batch["identity"], cfg, method.train.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(batch["image"]).landmarks
    blob = b"".join(v.numpy().tobytes() for v in model.state_dict().values()) + out.numpy().tobytes()
    print(hashlib.sha256(blob).hexdigest())
"""

OTHER_CPUS = {
    "this CPU": {},
    "oneDNN capped at AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "MKL capped at AVX2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "every library capped at AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                                     "ATEN_CPU_CAPABILITY": "avx2"},
}


def _avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _train(mode: str, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    done = subprocess.run([sys.executable, "-c", TRAIN, mode], env={**clean, "OMP_NUM_THREADS": "1", **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def test_portable_kernels_train_the_same_weights_whatever_the_cpu_offers() -> None:
    hashes = {name: _train("portable", env) for name, env in OTHER_CPUS.items()}
    assert len(set(hashes.values())) == 1, hashes


@pytest.mark.skipif(not _avx512(), reason="the emulated CPU is this one when it has no AVX-512")
def test_fast_kernels_differ_on_a_cpu_without_avx512() -> None:
    # what portable mode is for: oneDNN's AVX2 kernels sum in another order than its AVX-512 ones
    assert _train("fast", {}) != _train("fast", {"ONEDNN_MAX_CPU_ISA": "AVX2"})


def test_portable_kernels_turn_onednn_and_nnpack_off_for_the_body_only() -> None:
    import torch

    before = torch.backends.mkldnn.enabled, torch._C._get_nnpack_enabled()
    env = {k: os.environ.get(k) for k in ("MKL_CBWR", "ATEN_CPU_CAPABILITY")}
    with cpu_kernels("portable"):
        assert not torch.backends.mkldnn.enabled and not torch._C._get_nnpack_enabled()
        assert os.environ["MKL_CBWR"] == "AVX2" and os.environ["ATEN_CPU_CAPABILITY"] == "avx2"
    assert (torch.backends.mkldnn.enabled, torch._C._get_nnpack_enabled()) == before
    assert {k: os.environ.get(k) for k in env} == env  # the variables as they were, for later subprocesses
    with cpu_kernels("fast"):
        assert torch.backends.mkldnn.enabled == before[0]


def test_an_unknown_kernel_choice_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="torch.cpu_kernels"):
        with cpu_kernels("quick"):
            pass
    path = tmp_path / "params.yaml"
    path.write_text("torch: {cpu_kernels: quick}\n")
    with pytest.raises(ConfigError, match=r"torch.*cpu_kernels.*quick"):
        section(load_params(path), "torch", TorchParams)
    assert section({}, "torch", TorchParams).cpu_kernels == "portable"


def test_the_train_command_runs_torch_methods_under_the_params_kernels(tmp_path: Path, monkeypatch) -> None:
    import torch

    from redbench import methods
    from redbench.cli import main

    seen = {}
    monkeypatch.setattr(methods, "train",
                        lambda method, *a, **k: seen.setdefault(method, torch.backends.mkldnn.enabled))
    monkeypatch.chdir(tmp_path)
    for method, kernels in (("heatmap", "portable"), ("red", "fast"), ("sdm", "portable")):
        (tmp_path / "params.yaml").write_text(json.dumps({"torch": {"cpu_kernels": kernels}}))
        result = CliRunner().invoke(main, ["train", method, "--out", str(tmp_path / method)])
        assert result.exit_code == 0, result.output
    # heatmap under portable kernels: oneDNN off; RED under fast ones and SDM (no torch): torch's defaults
    assert seen == {"heatmap": False, "red": torch.backends.mkldnn.enabled, "sdm": torch.backends.mkldnn.enabled}
    assert torch.backends.mkldnn.enabled  # restored after the command
