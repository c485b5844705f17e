"""RED on one GPU in one go: the paper preset's training and inference speed, DDP over NCCL, memory, the data path.

Builds a small synthetic 300-VW-style shard set (redbench.datasets.fake, no dlib), then measures, each as a ratio
against a bare forward + backward of the same model on the same batch in the same run (scripts/_gpu_check_sections.py):
  step        the bare step and the suite's training step (bf16 autocast + channels_last on CUDA) on one batch
  train_loop  --steps suite steps fed by the loader (workers, pinned memory): frames/s, data-wait share, the loss
  inference   RED's online clip loop (red/infer.py) and RED-static batched, vs a bare batched forward
  ddp         torchrun, one process (NCCL on CUDA, gloo on CPU) wrapping RED in DDP: same losses as the plain run
  loader      the loader alone (the run's workers, and one process): can it keep the GPU busy?
  fit         the suite's own red/train.py fit() for --fit-steps steps, its validation and model file
Peak GPU memory is reported per section. The JSON (OUT/gpu_check.json) is rewritten after every section, so a
run stopped by --time-budget or killed still leaves the figures measured so far.

    python scripts/gpu_check.py [--out DIR] [--steps 300] [--time-budget 400]          # on the GPU
    python scripts/gpu_check.py --device cpu --steps 2 --preset tiny --threads 1       # the CPU test
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

import torch

REPO = Path(__file__).resolve().parent.parent
# absent on the accelerator machines and too big to carry as wheels: the run must never import them
FORBIDDEN = ("dvc", "dlib", "face_recognition_models")
# per-device defaults of the options left unset on the command line
CPU_DEFAULTS = dict(steps=2, batch_clips=2, clip_len=2, repeats=1, infer_frames=4, infer_batch=4, ddp_steps=2,
                    fit_steps=2, workers=1, n_clips=6, clip_frames=8, crop_size=64)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from _gpu_check_sections import CheckOptions

    gpu = CheckOptions(device="cuda")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_check_out"),
                    help="folder of gpu_check.json (default: $OUT, else ./gpu_check_out)")
    ap.add_argument("--time-budget", type=float, default=400.0,
                    help="seconds of measuring; later sections are skipped, loops stop, the JSON is still written")
    ap.add_argument("--work-dir", type=Path, default=None, help="shards and fit output (default: a temp folder)")
    ap.add_argument("--keep-work", action="store_true")
    ap.add_argument("--ddp-worker", nargs=2, metavar=("SPEC", "RESULT"), help=argparse.SUPPRESS)
    for f in dataclasses.fields(CheckOptions):
        if f.name != "device":
            kind = str if getattr(gpu, f.name) is None else type(getattr(gpu, f.name))
            ap.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None,
                            help=f"GPU default {getattr(gpu, f.name)}, CPU default "
                                 f"{CPU_DEFAULTS.get(f.name, getattr(gpu, f.name))}")
    return ap.parse_args(argv)


def options(args: argparse.Namespace):
    from _gpu_check_sections import CheckOptions

    defaults = CPU_DEFAULTS if args.device == "cpu" else {}
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(CheckOptions) if f.name != "device"}
    return CheckOptions(device=args.device, **{**defaults, **{k: v for k, v in given.items() if v is not None}})


def environment(device: str) -> dict:
    import redbench

    env = {"python": platform.python_version(), "torch": torch.__version__, "torch_path": torch.__file__,
           "cuda_build": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "cudnn_benchmark": torch.backends.cudnn.benchmark, "cpu_count": os.cpu_count(),
           "torch_threads": torch.get_num_threads(), "redbench_path": redbench.__file__, "git_commit": None}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update(device_name=props.name, capability=f"{props.major}.{props.minor}",
                   memory_gib=props.total_memory / 2**30, bf16=torch.cuda.is_bf16_supported())
    else:
        env.update(device_name=f"cpu ({platform.processor() or platform.machine()})")
    try:  # the device machines get a copy of the tree, maybe without .git
        env["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                           timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return env


def carried_imports() -> list[str]:
    """Top-level modules imported from the wheels that gpu_check.sh unpacked (scripts/_gpu_wheels.py)."""
    return sorted(m for m, mod in list(sys.modules.items())
                  if "." not in m and "gpu_check_site." in (getattr(mod, "__file__", None) or ""))


def clean(obj):
    """JSON-safe: NaN/inf -> None (strict JSON has no NaN), numpy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@dataclasses.dataclass(frozen=True)
class Section:
    name: str
    run: Callable[[], dict]
    needs: tuple[str, ...] = ()
    min_left_s: float = 0.0  # do not start with less time left than this


def run_sections(sections: list[Section], budget, write: Callable[[dict], None],
                 log: Callable[[str], None] = print) -> dict:
    """Run each section in order; record ok / error (with its traceback) / skipped (budget, or a needed section
    did not succeed); call `write(results)` after every section. One failing section never stops the rest."""
    results: dict[str, dict] = {}
    for sec in sections:
        failed = [n for n in sec.needs if results.get(n, {}).get("status") != "ok"]
        if failed:
            results[sec.name] = {"status": "skipped", "reason": f"needs {', '.join(failed)}"}
        elif budget.left() < max(sec.min_left_s, 1e-9):
            results[sec.name] = {"status": "skipped", "reason": f"time budget ({max(budget.left(), 0):.0f} s left)"}
        else:
            t0 = time.perf_counter()
            try:
                results[sec.name] = {"status": "ok", **sec.run()}
            except Exception as e:  # recorded, and the next sections still run
                results[sec.name] = {"status": "error", "error": f"{type(e).__name__}: {e}",
                                     "traceback": traceback.format_exc()[-4000:]}
            results[sec.name]["seconds"] = time.perf_counter() - t0
        log(describe(sec.name, results[sec.name]))
        write(results)
    return results


def describe(name: str, result: dict, prefix: str = "") -> str:
    """One line of a section's scalar figures (nested dicts on their own lines)."""
    scalars = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool)) and k != "traceback"}
    text = f"[{prefix}{name}] " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                              for k, v in scalars.items())
    nested = [describe(k, v, f"{prefix}{name}.") for k, v in result.items() if isinstance(v, dict)]
    return "\n".join([text, *nested])


def max_rel_diff(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b), (len(a), len(b))
    return max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))


def ddp_check(opts, ctx, budget) -> dict:
    """The plain run twice (its run-to-run spread) and a torchrun process wrapping the same model in DDP."""
    from _gpu_check_sections import fixed_batches, train_fixed

    batches = fixed_batches(opts, ctx, opts.ddp_steps)
    plain, repeat = train_fixed(opts, ctx, batches), train_fixed(opts, ctx, batches)
    spec, result = ctx.work_dir / "ddp_spec.json", ctx.work_dir / "ddp_result.json"
    spec.write_text(json.dumps({"options": dataclasses.asdict(opts), "work_dir": str(ctx.work_dir)}))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", str(Path(__file__)),
           "--ddp-worker", str(spec), str(result)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(budget.left(), 60.0))
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun exited {proc.returncode}: {(proc.stdout + proc.stderr)[-3000:]}")
    ddp = json.loads(result.read_text())
    tol = 1e-3 if ctx.device.type == "cuda" else 1e-6  # bf16 + non-deterministic CUDA kernels vs exact CPU float
    d_ddp, d_rep = max_rel_diff(ddp["losses"], plain["losses"]), max_rel_diff(repeat["losses"], plain["losses"])
    return {"backend": ddp["backend"], "world_size": ddp["world_size"], "all_reduce_sum": ddp["all_reduce_sum"],
            "steps": len(batches), "torchrun_s": time.perf_counter() - t0,
            "first_step_rel_diff": abs(ddp["losses"][0] - plain["losses"][0]) / abs(plain["losses"][0]),
            "max_rel_diff_ddp_vs_plain": d_ddp, "max_rel_diff_plain_repeat": d_rep, "tolerance": tol,
            "matches": d_ddp <= max(tol, 2 * d_rep), "s_per_step_plain": plain["s_per_step"],
            "s_per_step_ddp": ddp["s_per_step"], "time_ratio_ddp_vs_plain": ddp["s_per_step"] / plain["s_per_step"],
            "peak_allocated_gib": ddp["peak_allocated_gib"], "losses_plain": plain["losses"],
            "losses_plain_repeat": repeat["losses"], "losses_ddp": ddp["losses"]}


def ddp_worker(spec_path: str, result_path: str) -> None:
    """Run under torchrun: join the process group, check an all-reduce, train the fixed batches through DDP."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from _gpu_check_sections import CheckOptions, fixed_batches, make_context, train_fixed

    spec = json.loads(Path(spec_path).read_text())
    opts = CheckOptions(**spec["options"])
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if opts.device == "cuda":
        torch.cuda.set_device(local_rank)
    backend = "nccl" if opts.device == "cuda" else "gloo"
    dist.init_process_group(backend)
    try:
        ctx = make_context(opts, Path(spec["work_dir"]))
        x = torch.ones(1, device=ctx.device)
        dist.all_reduce(x)
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        r = train_fixed(opts, ctx, fixed_batches(opts, ctx, opts.ddp_steps),
                        wrap=lambda m: DistributedDataParallel(m, device_ids=ids))
        if dist.get_rank() == 0:
            Path(result_path).write_text(json.dumps({"backend": dist.get_backend(), "world_size": dist.get_world_size(),
                                                     "all_reduce_sum": float(x.item()), **r}))
    finally:
        dist.destroy_process_group()


def summary(env: dict, opts, results: dict) -> dict:
    def get(sec: str, key: str, sub: str | None = None):
        r = results.get(sec, {})
        r = r.get(sub, {}) if sub and r.get("status") == "ok" else r
        return r.get(key) if results.get(sec, {}).get("status") == "ok" else None

    peaks = [v for r in results.values() for v in [r.get("peak_allocated_gib"), *(
        x.get("peak_allocated_gib") for x in r.values() if isinstance(x, dict))] if isinstance(v, (int, float))]
    fps = get("train_loop", "frames_per_s")
    return {"device_name": env.get("device_name"), "preset": opts.preset,
            "frames_per_step": opts.frames_per_step, "bare_frames_per_s": get("step", "frames_per_s", "bare"),
            "suite_step_frames_per_s": get("step", "frames_per_s", "train_step"),
            "suite_step_time_ratio_vs_bare": get("step", "time_ratio_vs_bare", "train_step"),
            "train_frames_per_s": fps, "train_tflop_per_s": get("train_loop", "tflop_per_s"),
            "train_time_ratio_vs_bare": get("train_loop", "time_ratio_vs_bare"),
            "data_wait_share": get("train_loop", "data_wait_share"), "loss_first": get("train_loop", "loss_first"),
            "loss_last": get("train_loop", "loss_last"), "loss_fell": get("train_loop", "loss_fell"),
            "online_frames_per_s": get("inference", "online_frames_per_s"),
            "static_batch_frames_per_s": get("inference", "static_batch_frames_per_s"),
            "ddp_matches": get("ddp", "matches"), "ddp_max_rel_diff": get("ddp", "max_rel_diff_ddp_vs_plain"),
            "loader_headroom_vs_train": get("loader", "headroom_vs_train"), "fit_frames_per_s": get("fit", "frames_per_s"),
            "peak_allocated_gib": max(peaks) if peaks else None,
            "goal_1000_frames_per_s": (fps >= 1000) if fps is not None and opts.device == "cuda" else None}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ddp_worker:
        ddp_worker(*args.ddp_worker)
        return 0
    from redbench._io import write_json_atomic
    import _gpu_check_sections as S

    opts = options(args)
    if opts.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: --device cuda but torch sees no CUDA device (torch "
              f"{torch.__version__}); use --device cpu for the CPU run", file=sys.stderr)
        return 2
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    t_start, budget = time.perf_counter(), S.Budget.start(args.time_budget)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    work.mkdir(parents=True, exist_ok=True)
    out = args.out / "gpu_check.json"
    env = environment(opts.device)
    head = {"schema": 1, "script": "scripts/gpu_check.py", "argv": sys.argv[1:] if argv is None else argv,
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "options": dataclasses.asdict(opts), "time_budget_s": args.time_budget, "env": env}
    print(describe("env", env))
    state: dict = {}

    def shards() -> dict:
        r = S.make_shards(opts, work)
        state["ctx"] = S.make_context(opts, work)
        return {**r, "model": S.model_facts(state["ctx"])}

    def step() -> dict:
        r = S.bare_and_suite_step(opts, state["ctx"])
        state["bare_s"], state["gflop"] = r["bare"]["s_per_step"], r["train_step"]["gflop_per_step"]
        return r

    def loop() -> dict:
        r = S.train_loop(opts, state["ctx"], budget.share(0.4), state["bare_s"], state["gflop"])
        state["train_fps"] = r["frames_per_s"]
        return r

    sections = [
        Section("shards", shards),
        Section("step", step, ("shards",)),
        Section("train_loop", loop, ("step",), 5),
        Section("inference", lambda: S.inference(opts, state["ctx"], budget.share(0.3), state["bare_s"]), ("step",), 5),
        Section("ddp", lambda: ddp_check(opts, state["ctx"], budget), ("shards",), 20),
        Section("loader", lambda: S.loader_alone(opts, state["ctx"], budget.share(0.3), state.get("train_fps")),
                ("shards",), 5),
        Section("fit", lambda: S.run_fit(opts, state["ctx"], budget, state["bare_s"]), ("step",), 15),
    ]

    def write(results: dict, final: bool = False) -> None:
        done = {"sections": results, "summary": summary(env, opts, results),
                "elapsed_s": time.perf_counter() - t_start, "complete": final and len(results) == len(sections)
                and all(r["status"] == "ok" for r in results.values()),
                "forbidden_imports": sorted({m.split(".")[0] for m in sys.modules} & set(FORBIDDEN)),
                "carried_imports": carried_imports()}
        write_json_atomic(out, clean({**head, **done}))

    try:
        results = run_sections(sections, budget, write)
        write(results, final=True)
    finally:
        if not args.keep_work and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(describe("summary", summary(env, opts, results)))
    print(f"gpu_check: {out} ({time.perf_counter() - t_start:.0f} s)")
    return 1 if any(r["status"] == "error" for r in results.values()) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # _gpu_check_sections beside this file
    sys.exit(main())
