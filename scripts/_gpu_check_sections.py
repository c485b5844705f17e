"""The measurements of scripts/gpu_check.py: each section takes the run's options and context, returns a dict of
plain figures, and times on the device with a synchronise around every timed region.

The reference of every ratio is the same model's bare forward + backward (sum of the final landmarks) on one
fixed batch, with the same precision (bf16 autocast on CUDA) and memory format (channels_last on CUDA) as the
suite's training step (red/train.py), measured in the same run. Only the public API of redbench.red and
redbench.datasets is used, and nothing here imports dvc or dlib (absent on the accelerator machines).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from redbench.datasets.fake import make_fake_shards
from redbench.datasets.geometry import invert_affine
from redbench.datasets.loaders import AugmentConfig, ClipDataset, finish_images
from redbench.datasets.shards import load_manifest
from redbench.methods.cost import count_flops
from redbench.red.config import RedConfig
from redbench.red.infer import OnlineRED, autocast, predict_static_batch
from redbench.red.losses import red_loss
from redbench.red.method import Config as MethodConfig
from redbench.red.model import RED, count_parameters
from redbench.red.train import TrainConfig, fit, mean_shape, previous_frame_points

@dataclass(frozen=True)
class CheckOptions:
    device: str  # "cuda" | "cpu"
    preset: str = "paper"
    norm: str | None = None  # None: the method's default (params methods.red.norm)
    variant: str = "full"
    steps: int = 300  # training-loop steps
    batch_clips: int = 16
    clip_len: int = 4
    repeats: int = 20  # timed repeats of the bare and suite steps on the fixed batch
    infer_frames: int = 128
    infer_batch: int = 64
    ddp_steps: int = 20
    fit_steps: int = 30
    workers: int = 8
    n_clips: int = 72  # fake shard set: 2/3 train (48, about 300-VW's 50 training videos), 1/3 test
    clip_frames: int = 32
    crop_size: int = 160
    seed: int = 0
    threads: int = 0  # torch CPU threads (0: torch's default)

    @property
    def frames_per_step(self) -> int:
        return self.batch_clips * self.clip_len


@dataclass(frozen=True)
class Budget:
    """A wall-clock deadline; `share` carves a sub-deadline out of what is left, so one section cannot eat all."""
    end: float
    clock: Callable[[], float] = time.perf_counter

    @classmethod
    def start(cls, seconds: float, clock: Callable[[], float] = time.perf_counter) -> "Budget":
        return cls(clock() + seconds, clock)

    def left(self) -> float:
        return self.end - self.clock()

    def expired(self) -> bool:
        return self.left() <= 0

    def share(self, fraction: float) -> "Budget":
        return Budget(min(self.end, self.clock() + fraction * max(self.left(), 0.0)), self.clock)


@dataclass(frozen=True)
class Context:
    device: torch.device
    cfg: RedConfig
    train_paths: tuple[Path, ...]
    test_paths: tuple[Path, ...]
    work_dir: Path
    tc: TrainConfig  # the method's training defaults (lr, loss weights, feedback noise, clipping, stopping rule)
    box_scale: float


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict:
    """Peak GPU memory since the last reset (GiB); None on the CPU (not tracked there)."""
    if device.type != "cuda":
        return {"peak_allocated_gib": None, "peak_reserved_gib": None}
    return {"peak_allocated_gib": torch.cuda.max_memory_allocated(device) / 2**30,
            "peak_reserved_gib": torch.cuda.max_memory_reserved(device) / 2**30}


def timed(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 2) -> float:
    """Median seconds of one call over `repeats`, after `warmup` calls (cuDNN picks its kernels on the first)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_shards(opts: CheckOptions, work_dir: Path) -> dict:
    t0 = time.perf_counter()
    man = make_fake_shards(work_dir / "shards", n_clips=opts.n_clips, n_frames=opts.clip_frames,
                           crop_size=opts.crop_size, seed=opts.seed)
    return {"clips": opts.n_clips, "frames_per_clip": opts.clip_frames, "crop_size": opts.crop_size,
            "train_clips": sum(e.n_clips for e in man.entries("train")),
            "test_clips": sum(e.n_clips for e in man.entries("test")),
            "mib": sum(e.bytes for e in man.entries()) / 2**20, "write_s": time.perf_counter() - t0}


def make_context(opts: CheckOptions, work_dir: Path) -> Context:
    man = load_manifest(work_dir / "shards")
    train_paths, test_paths = tuple(man.paths("train")), tuple(man.paths("test"))
    # what `redbench train red` trains with this preset: the method's defaults (7-point maps, group norm, ...)
    method = MethodConfig(preset=opts.preset, variant=opts.variant, **({"norm": opts.norm} if opts.norm else {}))
    n_ids = len(ClipDataset(train_paths, opts.clip_len, method.model_config().input_size).identity_names)
    cfg = method.model_config(n_identities=n_ids)
    # an indexed device: DDP's device_ids and the memory counters want the GPU's number
    device = torch.device("cuda", torch.cuda.current_device()) if opts.device == "cuda" else torch.device("cpu")
    return Context(device, cfg, train_paths, test_paths, work_dir, method.train, method.box_scale)


def train_clips(opts: CheckOptions, ctx: Context) -> ClipDataset:
    """The training clips as the method trains on them: gt box x 1.25, the loaders' default augmentation."""
    return ClipDataset(ctx.train_paths, opts.clip_len, ctx.cfg.input_size, box="gt", box_scale=ctx.box_scale,
                       train=True, augment=AugmentConfig(), seed=opts.seed)


class Cycled(Dataset):
    """`n` samples drawn from `clips` pass after pass (a seeded order per pass, a fresh window and augmentation
    per pass), so one DataLoader with persistent workers serves any number of steps."""

    def __init__(self, clips: ClipDataset, n: int, seed: int) -> None:
        self.clips, self.n, self.seed = clips, n, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        pass_, k = divmod(i, len(self.clips))
        self.clips.set_epoch(pass_)  # this worker's copy only; the draw depends on (seed, pass, item)
        return self.clips[int(np.random.default_rng([self.seed, pass_]).permutation(len(self.clips))[k])]


def loader(opts: CheckOptions, ctx: Context, n_batches: int, workers: int) -> DataLoader:
    """The data path a GPU needs: worker processes that stay up, pinned host memory, batches prefetched."""
    data = Cycled(train_clips(opts, ctx), n_batches * opts.batch_clips, opts.seed)
    return DataLoader(data, batch_size=opts.batch_clips, num_workers=workers, drop_last=True,
                      pin_memory=ctx.device.type == "cuda", persistent_workers=workers > 0,
                      prefetch_factor=4 if workers > 0 else None, collate_fn=default_collate)


def fixed_batches(opts: CheckOptions, ctx: Context, n: int) -> list[dict]:
    """n deterministic training batches (the same in every process that builds them from the same shards)."""
    data = Cycled(train_clips(opts, ctx), n * opts.batch_clips, opts.seed)
    return [default_collate([data[k * opts.batch_clips + j] for j in range(opts.batch_clips)]) for k in range(n)]


def new_model(cfg: RedConfig, ctx: Context, opts: CheckOptions) -> RED:
    """RED as fit() builds it: seeded init, mean shape from the training clips, channels_last on CUDA."""
    torch.manual_seed(opts.seed)
    model = RED(cfg)
    clips = train_clips(opts, ctx)
    clips.set_epoch(0)
    model.mean_shape.copy_(mean_shape(clips, list(cfg.point_indices), cfg.input_size))
    model.to(ctx.device)
    return model.to(memory_format=torch.channels_last) if ctx.device.type == "cuda" else model


class SuiteStep:
    """The training step of red/train.py fit(): previous-frame feedback with noise, bf16 autocast on CUDA, the
    three losses, gradient clipping, AdamW with warm-up. `net` may be a DistributedDataParallel of `model`."""

    def __init__(self, net: torch.nn.Module, model: RED, device: torch.device, seed: int, tc: TrainConfig) -> None:
        self.net, self.model, self.device, self.tc = net, model, device, tc
        self.opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda k: min(1.0, (k + 1) / tc.warmup_steps))
        self.noise = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> float:
        cfg, dev = self.model.cfg, self.device
        target = batch["landmarks"][:, :, list(cfg.point_indices)]  # (B, T, L, 2) input pixels
        noise = torch.randn(target.shape, generator=self.noise) * self.tc.feedback_noise * cfg.input_size
        prev = previous_frame_points(target, batch["input_to_orig"], noise)
        # uint8 to the device, float and colour jitter there (outside autocast: in float32, as fit() does)
        images = finish_images(batch["image"].to(dev, non_blocking=True), batch.get("colour"))
        with autocast(dev):
            out = self.net(images, prev.to(dev, non_blocking=True))
            loss, _ = red_loss(out, target.to(dev, non_blocking=True), batch["identity"].to(dev, non_blocking=True),
                               cfg, self.tc.loss)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tc.grad_clip)
        self.opt.step()
        self.sched.step()
        return float(loss.detach())  # a host sync per step, as fit() has


def bare_and_suite_step(opts: CheckOptions, ctx: Context) -> dict:
    """The reference (bare forward + backward) and the suite's step on the same in-memory batch."""
    model = new_model(ctx.cfg, ctx, opts)
    batch = fixed_batches(opts, ctx, 1)[0]
    images = finish_images(batch["image"].to(ctx.device), batch.get("colour"))

    def bare() -> None:
        model.zero_grad(set_to_none=True)
        with autocast(ctx.device):
            out = model(images)
        out.landmarks.float().sum().backward()

    reset_peak(ctx.device)
    bare_s = timed(bare, ctx.device, opts.repeats)
    bare_mem = peak_memory(ctx.device)
    step = SuiteStep(model, model, ctx.device, opts.seed, ctx.tc)
    reset_peak(ctx.device)
    suite_s = timed(lambda: step(batch), ctx.device, opts.repeats)
    suite_mem = peak_memory(ctx.device)
    flops = count_flops(lambda: step(batch))  # torch's FLOP counter, as fit() records the training cost
    frames = opts.frames_per_step
    return {"bare": {"s_per_step": bare_s, "frames_per_s": frames / bare_s, **bare_mem},
            "train_step": {"s_per_step": suite_s, "frames_per_s": frames / suite_s, "time_ratio_vs_bare": suite_s /
                           bare_s, "gflop_per_step": flops / 1e9, "tflop_per_s": flops / suite_s / 1e12, **suite_mem}}


def train_loop(opts: CheckOptions, ctx: Context, budget: Budget, bare_s: float, gflop_per_step: float) -> dict:
    """`steps` suite steps fed by the loader; throughput and data wait after the warm-up steps; the loss curve."""
    model = new_model(ctx.cfg, ctx, opts)
    step = SuiteStep(model, model, ctx.device, opts.seed, ctx.tc)
    batches = iter(loader(opts, ctx, opts.steps, opts.workers))
    reset_peak(ctx.device)
    losses, waits, totals = [], [], []
    t_prev = time.perf_counter()
    for _ in range(opts.steps):
        if budget.expired():
            break
        batch = next(batches)
        t_data = time.perf_counter()
        losses.append(step(batch))
        t_end = time.perf_counter()
        waits.append(t_data - t_prev)
        totals.append(t_end - t_prev)
        t_prev = t_end
    if not losses:
        return {"steps_done": 0, "steps_asked": opts.steps, "stopped_by_budget": True}
    warm = min(10, len(totals) // 4)  # worker start-up and cuDNN's first calls
    wait, total = sum(waits[warm:]), sum(totals[warm:])
    n = max(1, len(losses) // 10)
    first, last = float(np.mean(losses[:n])), float(np.mean(losses[-n:]))
    s_per_step = total / max(len(totals) - warm, 1)
    return {"steps_done": len(losses), "steps_asked": opts.steps, "stopped_by_budget": len(losses) < opts.steps,
            "warmup_steps": warm, "frames_per_step": opts.frames_per_step, "s_per_step": s_per_step,
            "frames_per_s": opts.frames_per_step / s_per_step, "time_ratio_vs_bare": s_per_step / bare_s,
            "tflop_per_s": gflop_per_step / s_per_step / 1e3, "data_wait_share": wait / total if total > 0 else float("nan"), "workers": opts.workers,
            "pin_memory": ctx.device.type == "cuda", "loss_first": first, "loss_last": last,
            "loss_fell": last < first, "all_finite": bool(np.isfinite(losses).all()),
            "losses": [round(v, 5) for v in losses], **peak_memory(ctx.device)}


def loader_alone(opts: CheckOptions, ctx: Context, budget: Budget, train_fps: float | None) -> dict:
    """What the loader delivers with no model running: with the run's workers, and in one process."""
    def frames_per_s(workers: int, n_batches: int) -> tuple[float, int]:
        it, done = iter(loader(opts, ctx, n_batches + 1, workers)), 0
        next(it)  # worker start-up
        t0 = time.perf_counter()
        for _ in range(n_batches):
            if budget.expired():
                break
            next(it)
            done += 1
        return done * opts.frames_per_step / max(time.perf_counter() - t0, 1e-9), done

    fps, n = frames_per_s(opts.workers, min(opts.steps, 50))
    one, n_one = frames_per_s(0, min(opts.steps, 5))
    return {"workers": opts.workers, "frames_per_s": fps, "batches": n, "one_process_frames_per_s": one,
            "one_process_batches": n_one, "headroom_vs_train": fps / train_fps if train_fps else None,
            "workers_needed_for_train": math.ceil(train_fps / one) if train_fps and one > 0 else None}


def inference(opts: CheckOptions, ctx: Context, budget: Budget, bare_train_s: float) -> dict:
    """Online clip loop (RED, frame by frame with its state) and batched RED-static, vs a bare batched forward
    of the same model on the same frames."""
    clips = ClipDataset(ctx.test_paths, 1, ctx.cfg.input_size, box="gt", box_scale=ctx.box_scale, train=False)
    frames, to_input, k = [], [], 0
    while sum(len(f) for f in frames) < opts.infer_frames and k < len(clips):
        clip = clips[k]
        t = min(len(clip["image"]), opts.infer_frames - sum(len(f) for f in frames))
        frames.append(finish_images(clip["image"][:t], clip.get("colour")))
        to_input.append(invert_affine(clip["input_to_orig"][:t].double().numpy()))
        k += 1
    images = torch.cat(frames)  # (N, 3, s, s)
    n = len(images)
    model = new_model(ctx.cfg, ctx, opts).eval()
    static = new_model(dataclasses.replace(ctx.cfg, variant="static"), ctx, opts).eval()
    chunks = images.split(opts.infer_batch)

    @torch.no_grad()
    def bare() -> None:
        for c in chunks:
            with autocast(ctx.device):
                model(c.to(ctx.device)[:, None])

    reset_peak(ctx.device)
    bare_s = timed(bare, ctx.device, max(opts.repeats // 4, 1), warmup=1)
    static_s = timed(lambda: [predict_static_batch(static, c, ctx.device) for c in chunks], ctx.device,
                     max(opts.repeats // 4, 1), warmup=1)
    runner = OnlineRED(model, ctx.device)
    runner.step(frames[0][0], to_input[0][0])  # warm-up
    done, t0 = 0, time.perf_counter()
    for clip, affines in zip(frames, to_input):
        runner.reset()
        for image, a in zip(clip, affines):
            if budget.expired():
                break
            runner.step(image, a)
            done += 1
    online_s = (time.perf_counter() - t0) / done if done else float("nan")  # NaN -> null in the JSON
    per_train_frame = bare_train_s / opts.frames_per_step
    return {"frames": n, "clips": len(frames), "batch": opts.infer_batch, "online_frames_done": done,
            "online_frames_per_s": 1 / online_s, "static_batch_frames_per_s": n / static_s,
            "bare_forward_frames_per_s": n / bare_s, "online_time_ratio_vs_bare_forward": online_s / (bare_s / n),
            "static_time_ratio_vs_bare_forward": static_s / bare_s,
            "online_time_ratio_vs_bare_train": online_s / per_train_frame, **peak_memory(ctx.device)}


def train_fixed(opts: CheckOptions, ctx: Context, batches: list[dict], wrap: Callable[[RED], torch.nn.Module] | None
                = None) -> dict:
    """The suite step over fixed batches from a fixed init: the per-step losses (the DDP comparison)."""
    model = new_model(ctx.cfg, ctx, opts)
    net = wrap(model) if wrap is not None else model
    step = SuiteStep(net, model, ctx.device, opts.seed, ctx.tc)
    reset_peak(ctx.device)
    t0 = time.perf_counter()
    losses = [step(b) for b in batches]
    return {"losses": losses, "s_per_step": (time.perf_counter() - t0) / len(batches), **peak_memory(ctx.device)}


def run_fit(opts: CheckOptions, ctx: Context, budget: Budget, bare_s: float) -> dict:
    """The suite's own fit() for a few steps (its DataLoader, validation and model file), timed by its step hook."""
    class OutOfTime(Exception):
        pass

    train_set = train_clips(opts, ctx)
    val_set = ClipDataset(ctx.test_paths, 1, ctx.cfg.input_size, box="gt", box_scale=ctx.box_scale, train=False)
    val = [val_set[i] for i in range(min(4, len(val_set)))]
    per_pass = len(train_set) // opts.batch_clips
    if per_pass == 0:
        raise ValueError(f"{len(train_set)} training clips is less than one batch of {opts.batch_clips}")
    tc = dataclasses.replace(ctx.tc, epochs=1, passes_per_epoch=max(1, math.ceil(opts.fit_steps / per_pass)),
                             batch_clips=opts.batch_clips, num_workers=opts.workers, checkpoint_every=0,
                             val_frames_per_clip=8)
    stamps = [time.perf_counter()]

    def hook(_: int) -> None:
        stamps.append(time.perf_counter())
        if budget.expired():
            raise OutOfTime

    reset_peak(ctx.device)
    out_dir = ctx.work_dir / "fit"
    try:
        rows = fit(ctx.cfg, tc, train_set, val, out_dir, seed=opts.seed, step_hook=hook)
    except OutOfTime:
        rows = []
    deltas = np.diff(stamps)  # (steps,) seconds from hook to hook
    if len(deltas) == 0:
        return {"steps_done": 0, "stopped_by_budget": True}
    firsts = deltas[per_pass::per_pass]  # first step of each later pass: fit() starts a new DataLoader per pass
    steady = np.delete(deltas, np.r_[0:min(per_pass, len(deltas)), per_pass:len(deltas):per_pass])
    s_step = float(deltas[1:].mean()) if len(deltas) > 1 else float(deltas.mean())
    return {"steps_done": len(deltas), "steps_per_pass": per_pass, "passes": tc.passes_per_epoch,
            "stopped_by_budget": not rows, "s_per_step": s_step, "frames_per_s": opts.frames_per_step / s_step,
            "time_ratio_vs_bare": s_step / bare_s,
            "pass_first_step_s": float(firsts.mean()) if len(firsts) else None,
            "steady_step_s": float(steady.mean()) if len(steady) else None,
            "train_loss": rows[-1]["train_loss"] if rows else None,
            "val_nme_inter_ocular": rows[-1]["val_nme_inter_ocular"] if rows else None,
            "model_written": (out_dir / "model.pt").exists(), **peak_memory(ctx.device)}


def model_facts(ctx: Context) -> dict:
    model = RED(ctx.cfg)
    return {"preset_input_size": ctx.cfg.input_size, "parameters_m": count_parameters(model) / 1e6,
            "encoder_parameters_m": count_parameters(model.encoder) / 1e6, "n_identities": ctx.cfg.n_identities,
            "config": dataclasses.asdict(ctx.cfg)}
