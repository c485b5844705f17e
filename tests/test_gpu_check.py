"""scripts/gpu_check.{sh,py}, RED's GPU check, run on the CPU so that it cannot rot between accelerator loans."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
CPU_RUN = ["--device", "cpu", "--steps", "2", "--preset", "tiny", "--threads", "1", "--time-budget", "300"]


@pytest.fixture(scope="module")
def gc():
    """scripts/gpu_check.py as a module (it imports _gpu_check_sections from beside itself)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield importlib.import_module("gpu_check")
    finally:
        sys.path.remove(str(SCRIPTS))


@pytest.fixture(scope="module")
def parts(gc):
    return importlib.import_module("_gpu_check_sections")


def _shell(out: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", **env}
    full_env.pop("OUT", None)
    return subprocess.run(["bash", str(SCRIPTS / "gpu_check.sh"), str(out), *args], env=full_env,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_cpu_run_of_the_shell_script_measures_every_section(tmp_path):
    proc = _shell(tmp_path / "out", *CPU_RUN)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert (tmp_path / "out" / "gpu_check.log").read_text().strip().endswith("s)")
    sec = doc["sections"]
    assert {k: v["status"] for k, v in sec.items()} == dict.fromkeys(
        ["shards", "step", "train_loop", "inference", "ddp", "loader", "fit"], "ok")
    assert doc["complete"] and doc["forbidden_imports"] == []  # what the GPU machines lack is never imported
    assert doc["options"]["preset"] == "tiny" and doc["options"]["steps"] == 2
    assert sec["shards"]["train_clips"] == 4 and sec["shards"]["test_clips"] == 2  # CPU default: 6 clips
    # it measures what `redbench train red` trains with that preset: the method's defaults, not the bare preset's
    from redbench.red.method import Config

    method_cfg = Config(preset="tiny").model_config(n_identities=sec["shards"]["model"]["n_identities"])
    assert sec["shards"]["model"]["config"] == json.loads(json.dumps(dataclasses.asdict(method_cfg)))

    bare, step, loop = sec["step"]["bare"], sec["step"]["train_step"], sec["train_loop"]
    assert step["time_ratio_vs_bare"] == pytest.approx(step["s_per_step"] / bare["s_per_step"])
    assert loop["steps_done"] == 2 and len(loop["losses"]) == 2 and loop["frames_per_step"] == 4
    assert loop["frames_per_s"] == pytest.approx(4 / loop["s_per_step"])
    assert loop["time_ratio_vs_bare"] == pytest.approx(loop["s_per_step"] / bare["s_per_step"])
    assert step["gflop_per_step"] > 0
    assert loop["tflop_per_s"] == pytest.approx(step["gflop_per_step"] / loop["s_per_step"] / 1e3)
    assert 0 < loop["data_wait_share"] < 1 and loop["all_finite"]
    assert loop["peak_allocated_gib"] is None  # no GPU memory on the CPU

    ddp = sec["ddp"]
    assert (ddp["backend"], ddp["world_size"], ddp["all_reduce_sum"]) == ("gloo", 1, 1.0)
    # one process, CPU floats, one thread: DDP's gradient bucketing changes nothing, the losses are equal bits
    assert ddp["losses_ddp"] == ddp["losses_plain"] == ddp["losses_plain_repeat"] and ddp["matches"]
    # the loader (a worker process) delivered the very batches that fixed_batches built in-process
    assert loop["losses"] == pytest.approx(ddp["losses_plain"], abs=1e-5)

    inf = sec["inference"]
    assert inf["online_frames_done"] == inf["frames"] == 4
    assert inf["static_time_ratio_vs_bare_forward"] == pytest.approx(
        inf["bare_forward_frames_per_s"] / inf["static_batch_frames_per_s"])
    fit = sec["fit"]
    assert fit["model_written"] and fit["steps_done"] == 2 and 0 < fit["val_nme_inter_ocular"] < 1
    assert sec["loader"]["batches"] == 2 and sec["loader"]["frames_per_s"] > 0
    s = doc["summary"]
    assert s["train_frames_per_s"] == loop["frames_per_s"] and s["ddp_matches"] is True
    assert s["goal_1000_frames_per_s"] is None  # only judged on a GPU


def test_shim_install_imports_this_checkout(tmp_path):
    """Where pip or setuptools are missing, redbench is imported from a folder of links to this checkout."""
    proc = _shell(tmp_path / "out", "--help", GPU_CHECK_INSTALL="shim")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "redbench.red from" in ln)
    assert "redbench_shim." in line and line.endswith("/redbench/red/model.py")
    assert "--time-budget" in proc.stdout


@pytest.mark.parametrize("env, message", [({"GPU_CHECK_INSTALL": "conda"}, "must be auto, pip, shim or none"),
                                          ({"PYTHON": "/bin/false"}, "cannot import torch")])
def test_shell_script_refuses_bad_set_ups(tmp_path, env, message):
    proc = _shell(tmp_path / "out", "--help", **env)
    assert proc.returncode == 2 and message in proc.stderr


def test_an_exhausted_budget_still_writes_the_json(gc, tmp_path):
    code = gc.main(["--device", "cpu", "--out", str(tmp_path), "--time-budget", "0", "--preset", "tiny"])
    doc = json.loads((tmp_path / "gpu_check.json").read_text())
    assert code == 0 and not doc["complete"]
    assert doc["sections"]["shards"]["reason"].startswith("time budget")
    assert {v["reason"] for k, v in doc["sections"].items() if k != "shards"} == {"needs shards", "needs step"}
    assert doc["summary"]["train_frames_per_s"] is None


def test_run_sections_records_errors_skips_dependents_and_writes_each_time(gc, parts):
    now = [0.0]
    budget = parts.Budget.start(10.0, clock=lambda: now[0])
    written = []

    def slow() -> dict:
        now[0] += 8.0
        return {"x": 1}

    def broken() -> dict:
        raise ValueError("no kernel for bf16")

    sections = [gc.Section("a", slow), gc.Section("b", broken, ("a",)), gc.Section("c", lambda: {"y": 2}, ("b",)),
                gc.Section("d", lambda: {"z": 3}, ("a",), min_left_s=5.0), gc.Section("e", lambda: {"w": 4})]
    res = gc.run_sections(sections, budget, lambda r: written.append(dict(r)), log=lambda _: None)
    assert [res[k]["status"] for k in "abcde"] == ["ok", "error", "skipped", "skipped", "ok"]
    assert res["a"]["x"] == 1 and res["e"]["w"] == 4
    assert res["b"]["error"] == "ValueError: no kernel for bf16" and "broken" in res["b"]["traceback"]
    assert res["c"]["reason"] == "needs b" and res["d"]["reason"] == "time budget (2 s left)"
    assert [len(w) for w in written] == [1, 2, 3, 4, 5]


def test_budget_share_takes_a_fraction_of_what_is_left(parts):
    now = [0.0]
    budget = parts.Budget.start(100.0, clock=lambda: now[0])
    now[0] = 20.0
    half = budget.share(0.5)
    assert half.left() == 40.0 and budget.left() == 80.0
    now[0] = 60.0
    assert half.expired() and not budget.expired()
    assert budget.share(2.0).end == budget.end  # never past the whole run's deadline


def test_options_take_cpu_defaults_and_explicit_flags(gc, parts):
    cpu = gc.options(gc.parse_args(["--device", "cpu", "--steps", "7", "--preset", "tiny"]))
    assert (cpu.steps, cpu.preset, cpu.batch_clips, cpu.workers) == (7, "tiny", 2, 1)
    gpu = gc.options(gc.parse_args([]))
    assert gpu == parts.CheckOptions(device="cuda") and gpu.preset == "paper" and gpu.frames_per_step == 64


def test_clean_and_max_rel_diff(gc):
    assert gc.clean({"a": float("nan"), "b": [np.float32(0.5), math.inf], "c": np.int64(3)}) == \
        {"a": None, "b": [0.5, None], "c": 3}
    assert gc.max_rel_diff([1.0, 2.2], [1.0, 2.0]) == pytest.approx(0.1)


@pytest.fixture(scope="module")
def tiny_ctx(parts, tmp_path_factory):
    work = tmp_path_factory.mktemp("gpu_check")
    opts = parts.CheckOptions(device="cpu", preset="tiny", steps=3, batch_clips=2, clip_len=2, repeats=1,
                              workers=0, n_clips=6, clip_frames=8, crop_size=64)
    parts.make_shards(opts, work)
    return opts, parts.make_context(opts, work)


def test_batches_repeat_across_builds_and_change_across_passes(parts, tiny_ctx):
    opts, ctx = tiny_ctx
    a, b = parts.fixed_batches(opts, ctx, 3), parts.fixed_batches(opts, ctx, 3)
    for x, y in zip(a, b):  # what the DDP worker rebuilds equals what the parent trained on
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["landmarks"], y["landmarks"])
    cycled = parts.Cycled(parts.train_clips(opts, ctx), 8, opts.seed)  # 4 training clips: items 0 and 4 differ
    first, second = cycled[0], cycled[4]  # in pass (window, flip, rotation), so no two passes train the same
    assert not torch.equal(first["landmarks"], second["landmarks"])


def test_train_loop_stops_on_the_budget_with_finite_figures(parts, tiny_ctx):
    opts, ctx = tiny_ctx
    calls = [0]

    def clock() -> float:  # the budget runs out after the first step's check
        calls[0] += 1
        return 0.0 if calls[0] <= 2 else 1e9

    r = parts.train_loop(opts, ctx, parts.Budget.start(1.0, clock=clock), bare_s=0.5, gflop_per_step=1.0)
    assert r["steps_done"] == 1 and r["stopped_by_budget"] and r["steps_asked"] == 3
    assert math.isfinite(r["frames_per_s"]) and r["loss_first"] == r["loss_last"] == pytest.approx(r["losses"][0], abs=1e-5)


def test_carried_wheels_are_unpacked_only_where_a_module_is_missing(gc, tmp_path):
    import zipfile

    carry = importlib.import_module("_gpu_wheels").carry
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for dist, module in [("fake_missing", "gpucheck_fake_missing"), ("fake_json", "json")]:
        with zipfile.ZipFile(wheels / f"{dist}-1.0-py3-none-any.whl", "w") as whl:
            whl.writestr(f"{module}/__init__.py", "VALUE = 42\n")
            whl.writestr(f"{dist}-1.0.dist-info/top_level.txt", f"{module}\n_private\n")
    site = tmp_path / "site"
    assert carry(wheels, site) == ["gpucheck_fake_missing"]  # json is importable: its wheel stays packed
    assert sorted(p.name for p in site.iterdir()) == ["fake_missing-1.0.dist-info", "gpucheck_fake_missing"]
    out = subprocess.run([sys.executable, "-c", "import gpucheck_fake_missing as m; print(m.VALUE)"],
                         env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"
    # the wheel that travels with the repo: PyYAML for Python 3.12 (the accelerator machines' Python)
    assert [p.name.split("-")[:3] for p in (SCRIPTS / "gpu_wheels").glob("*.whl")] == [["pyyaml", "6.0.4", "cp312"]]
