"""Training RED: one straight function over any torch Dataset of clips (dicts as ClipDataset yields).

Reproducible and resumable: the data order of each pass is a seeded permutation saved in the checkpoint, the
loaders draw windows and augmentations from (seed, pass, item), the feedback noise from (seed, step), and the
checkpoint holds model, optimiser, schedule, torch RNG state and the position (pass, step), so a run killed
mid-epoch and resumed ends with the same weights as an uninterrupted one. Under torchrun each rank takes its
slice of every global batch; losses are means of per-frame terms, so equal slices average to the global loss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

from redbench._io import torch_save_atomic, write_json_atomic
from redbench.datasets.loaders import finish_images
from redbench.red import ddp
from redbench.red.config import RedConfig
from redbench.red.diagnostics import DIAGNOSTICS, temporal_diagnostics, uses_time
from redbench.red.infer import cpu_bf16, train_autocast, validate
from redbench.red.losses import red_loss
from redbench.red.model import RED
from redbench.red.checkpoint import CHECKPOINT, MODEL, save_model  # moved there; still importable from here
from redbench.red.train_config import TrainConfig  # moved there; still importable from here
from redbench.methods.convergence import DECAY, EXTENDING_FIELDS, STOP, WAIT, Plateau, extends
from redbench.methods.cost import TrainCost, count_flops
from redbench.methods.train_log import METRICS, TRAIN_LOG, write_log  # noqa: F401 (file names, re-exported)

log = logging.getLogger(__name__)

def mean_shape(train_set: Dataset, point_indices: Sequence[int], size: int, n: int = 64) -> torch.Tensor:
    """Mean landmarks (L, 2) in units of the input side, (x + 0.5) / s, over the first n training samples."""
    pts = torch.cat([train_set[i]["landmarks"][:, list(point_indices)] for i in range(min(n, len(train_set)))])
    return (pts.mean(0) + 0.5) / size


def previous_frame_points(landmarks: torch.Tensor, input_to_orig: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Pass-0 feedback for training: frame t-1's landmarks (+ noise) mapped into frame t's input coords.

    landmarks, noise (B, T, L, 2); input_to_orig (B, T, 2, 3). Frame 0 gets NaN (no feedback), as at inference.
    """
    a = input_to_orig.double()
    pts = landmarks.double() + noise.double()
    orig = torch.einsum("btij,btlj->btli", a[..., :2], pts) + a[:, :, None, :, 2]  # (B, T, L, 2)
    m_inv = torch.linalg.inv(a[..., :2])  # (B, T, 2, 2) orig -> input of the same frame
    nxt = torch.einsum("btij,btlj->btli", m_inv[:, 1:], orig[:, :-1] - a[:, 1:, None, :, 2])
    first = torch.full_like(pts[:, :1], float("nan"))
    return torch.cat([first, nxt], 1).float()


def _schedule(tc: TrainConfig, total: int) -> Callable[[int], float]:
    """lr factor by step. Fixed budget (stop.patience 0): linear warm-up, then cosine to 5% of lr at `total`.
    With the stopping rule: warm-up, then constant (the rule decays it at plateaus)."""
    def factor(step: int) -> float:
        if step < tc.warmup_steps:
            return (step + 1) / tc.warmup_steps
        if tc.stop.patience > 0:
            return 1.0
        frac = (step - tc.warmup_steps) / max(1, total - tc.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
    return factor


# TrainConfig fields that may change between a run and its --resume without changing what is trained
RESUMABLE_CHANGES = ("threads", "num_workers", "checkpoint_every", "diagnostics")
STOP_KEY = "train.stop."  # run_params' prefix of the stop rule's fields


def run_params(cfg: RedConfig, tc: TrainConfig, seed: int) -> dict:
    """What a checkpoint must have been trained with to be resumed (flat dotted keys -> values)."""
    train = {k: v for k, v in dataclasses.asdict(tc).items() if k not in RESUMABLE_CHANGES}
    return _flatten({"model": dataclasses.asdict(cfg), "train": train, "seed": seed})


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def check_resumable(path: Path, saved: dict | None, now: dict) -> None:
    """Refuse to resume a checkpoint made with other params, naming each difference. A checkpoint made without
    the stop rule's convergence condition may go on with it (convergence.extends: it is an earlier stop of
    that run)."""
    if saved is None:
        raise ValueError(f"{path}: checkpoint records no training params (made by an older version); "
                         f"delete it to train from scratch")
    saved = {**{k: v for k, v in _added_defaults().items() if k in now}, **saved}
    differs = [k for k in sorted(set(saved) | set(now)) if _norm(saved.get(k)) != _norm(now.get(k))]
    if extends(_stop_rule(saved), _stop_rule(now)):
        differs = [k for k in differs if k not in {STOP_KEY + f for f in EXTENDING_FIELDS}]
    diff = [f"{k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}" for k in differs]
    if diff:
        raise ValueError(f"{path}: cannot resume, the checkpoint was trained with other params ("
                         + "; ".join(diff) + "); train without --resume to start again")


# fields added after checkpoints were made: a checkpoint without them was trained with their defaults
_ADDED_FIELDS = ("model.srnn_feedback", "model.temporal_gate", "train.tbptt", "train.accumulate", "train.ema",
                 "train.init_seed", "train.data_seed", "train.init_from", "train.precision")


def _added_defaults() -> dict:
    return {k: v for k, v in run_params(RedConfig(), TrainConfig(), 0).items() if k in _ADDED_FIELDS}


def _stop_rule(params: dict) -> dict:
    return {k[len(STOP_KEY):]: v for k, v in params.items() if k.startswith(STOP_KEY)}


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


@dataclass
class _Run:
    """What a training run carries between steps: set up (or resumed) by `_start`, advanced by `_step` and
    `_end_of_epoch`, written by `_checkpoint`."""

    cfg: RedConfig
    tc: TrainConfig
    info: ddp.DistInfo
    device: torch.device
    model: RED
    net: torch.nn.Module  # the model, or its DDP wrapper
    opt: torch.optim.Optimizer
    ema: AveragedModel | None
    out_dir: Path
    data_seed: int
    params: dict
    steps_per_pass: int
    total_steps: int
    lr_factor: Callable[[int], float]
    bf16: bool
    plateau: Plateau
    start_pass: int = 0
    start_step: int = 0
    rows: list = field(default_factory=list)
    loss_acc: list = field(default_factory=lambda: [0.0, 0])
    part_acc: dict = field(default_factory=dict)
    order: torch.Tensor | None = None
    best_state: dict | None = None
    spent: dict = field(default_factory=lambda: {"wall_s": 0.0, "frames": 0})
    flops_per_step: float | None = None
    t_start: float = 0.0

    @property
    def kept(self) -> RED:
        """The weights that are validated and kept: the EMA's when there is one."""
        return self.ema.module if self.ema is not None else self.model


def fit(cfg: RedConfig, tc: TrainConfig, train_set: Dataset, val_clips: Sequence[dict] | Dataset,
        out_dir: str | Path, seed: int, resume: bool = False, progress: bool = False,
        step_hook: Callable[[int], None] | None = None) -> list[dict]:
    """Train RED on `train_set` (clips: image (T,3,s,s) uint8 with its colour factors, as the loaders give
    (finished on the device by loaders.finish_images), or float in [0, 1]; landmarks (T,68,2) input px,
    input_to_orig (T,2,3), identity); validate on `val_clips` (whole clips) each epoch, stopping by `tc.stop`
    (or after `tc.epochs`). Writes checkpoint.pt, model.pt (the best validation epoch's weights), train_log.csv
    and metrics.json (with the training cost) under out_dir. `step_hook(global_step)` runs after every step
    (tests use it to interrupt a run). Returns the log rows."""
    run = _start(cfg, tc, train_set, Path(out_dir), seed, resume)
    info = run.info
    bar = tqdm(total=run.total_steps, initial=run.start_pass * run.steps_per_pass + run.start_step, desc="train red",
               unit="step", disable=not (progress and info.is_main))
    n_passes = tc.epochs * tc.passes_per_epoch
    done = bool(run.rows) and run.rows[-1].get("stop") == STOP  # a resumed run that had already stopped
    if done and not run.plateau.tail_converged():  # stopped by a rule without the convergence condition: go on
        run.rows[-1]["stop"], done = WAIT, False
    stopped = "plateau" if done else "budget" if tc.stop.patience == 0 else "cap"
    local_b = tc.batch_clips // info.world_size
    for pass_ in range(run.start_pass, n_passes if not done else run.start_pass):
        if run.order is None or pass_ != run.start_pass:  # a resumed pass keeps its saved order
            g = torch.Generator().manual_seed(run.data_seed * 100_003 + pass_)
            run.order = torch.randperm(len(train_set), generator=g)
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(pass_)
        first = run.start_step if pass_ == run.start_pass else 0
        k0 = info.rank * local_b
        batches = [run.order[k * tc.batch_clips + k0:k * tc.batch_clips + k0 + local_b].tolist()
                   for k in range(first, run.steps_per_pass)]
        loader = DataLoader(train_set, batch_sampler=batches, num_workers=tc.num_workers, collate_fn=default_collate)
        run.model.train()
        for step, batch in enumerate(loader, start=first):
            gstep = pass_ * run.steps_per_pass + step
            updated = _step(run, batch, gstep, last_of_pass=step == run.steps_per_pass - 1)
            bar.update(1)
            bar.set_postfix(loss=f"{run.loss_acc[0] / run.loss_acc[1]:.4f}")
            end_of_epoch = step == run.steps_per_pass - 1 and (pass_ + 1) % tc.passes_per_epoch == 0
            if updated and tc.checkpoint_every and (gstep + 1) % tc.checkpoint_every == 0 and not end_of_epoch:
                _checkpoint(run, pass_, step + 1, run.order)
            if step_hook is not None:
                step_hook(gstep + 1)
        if (pass_ + 1) % tc.passes_per_epoch == 0 and _end_of_epoch(run, val_clips, pass_) == STOP:
            stopped = "plateau"
            break
    bar.close()
    _finish(run, val_clips, stopped)
    return run.rows


def _start(cfg: RedConfig, tc: TrainConfig, train_set: Dataset, out_dir: Path, seed: int, resume: bool) -> _Run:
    """The model, optimiser and schedule of a run, from scratch (seeded) or from out_dir's checkpoint."""
    info = ddp.setup()
    device = ddp.pick_device(info)
    if tc.threads > 0 and device.type == "cpu":
        torch.set_num_threads(tc.threads)
    assert tc.batch_clips % info.world_size == 0, \
        f"batch_clips {tc.batch_clips} must divide by the {info.world_size} ranks"
    torch.manual_seed(seed if tc.init_seed is None else tc.init_seed)
    model = RED(cfg)
    if hasattr(train_set, "set_epoch"):
        train_set.set_epoch(0)
    model.mean_shape.copy_(mean_shape(train_set, cfg.point_indices, cfg.input_size))
    if tc.init_from:
        init_from_static(model, Path(tc.init_from))
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if info.distributed else model
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(tc.ema), use_buffers=True) if tc.ema > 0 else None
    steps_per_pass = len(train_set) // tc.batch_clips
    if steps_per_pass == 0:
        raise ValueError(f"{len(train_set)} training clips is less than one batch of methods.red.train.batch_clips = "
                         f"{tc.batch_clips}: lower batch_clips or add training videos")
    total_steps = tc.epochs * tc.passes_per_epoch * steps_per_pass
    run = _Run(cfg, tc, info, device, model, net, opt, ema, out_dir, seed if tc.data_seed is None else tc.data_seed,
               run_params(cfg, tc, seed), steps_per_pass, total_steps, _schedule(tc, total_steps),
               cpu_bf16(device, tc.precision), Plateau(tc.stop))
    ck_path = out_dir / CHECKPOINT
    if resume and not ck_path.exists():
        log.warning("%s: nothing to resume, training from scratch", ck_path)
    elif resume:
        ck = torch.load(ck_path, map_location=device, weights_only=True)
        check_resumable(ck_path, ck.get("params"), run.params)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        if ema is not None:
            ema.load_state_dict(ck["ema"])
        torch.set_rng_state(ck["torch_rng"])
        run.start_pass, run.start_step, run.rows, run.loss_acc, run.part_acc, run.order = (
            ck["pass"], ck["step"], ck["log"], ck["loss_acc"], ck["part_acc"], ck["order"])
        run.plateau = Plateau.from_state(tc.stop, ck["plateau"], run.rows)
        run.best_state, run.spent, run.flops_per_step = ck["best_model"], ck["spent"], ck["flops_per_step"]
        log.info("resumed from %s at pass %d step %d", ck_path, run.start_pass, run.start_step)
    run.t_start = time.perf_counter() - run.spent["wall_s"]
    return run


def _step(run: _Run, batch: dict, gstep: int, last_of_pass: bool) -> bool:
    """One batch: forward and backward (in `tbptt` chunks), and the optimiser step at the end of every
    `accumulate` batches (and of the pass). Returns whether the optimiser stepped."""
    tc, cfg, info, device = run.tc, run.cfg, run.info, run.device
    world, rank = info.world_size, info.rank
    local_b = tc.batch_clips // world
    first_of_group = gstep % tc.accumulate == 0 or gstep % run.steps_per_pass == 0
    update = (gstep + 1) % tc.accumulate == 0 or last_of_pass
    for group in run.opt.param_groups:
        group["lr"] = tc.lr * run.lr_factor(gstep) * run.plateau.lr_factor
    # uint8 to the device (a quarter of the bytes), float and colour jitter there
    images = finish_images(batch["image"].to(device), batch.get("colour"))  # (b, T, 3, s, s)
    target = batch["landmarks"][:, :, list(cfg.point_indices)].to(device)  # (b, T, L, 2) input pixels
    g = torch.Generator().manual_seed(run.data_seed * 1_000_003 + gstep)
    noise = torch.randn((tc.batch_clips, *target.shape[1:]), generator=g)[rank * local_b:(rank + 1) * local_b]
    prev = previous_frame_points(target.cpu(), batch["input_to_orig"], noise * tc.feedback_noise * cfg.input_size)
    identity = batch["identity"].to(device)

    def forward_backward():
        if first_of_group:
            run.opt.zero_grad(set_to_none=True)
        return _chunked_backward(run, images, target, prev.to(device), identity, sync=update)

    if run.flops_per_step is None:  # counted once (the step's shape never changes), on a real step
        counted = {}
        run.flops_per_step = world * count_flops(lambda: counted.update(r=forward_backward()))
        loss, parts = counted["r"]
    else:
        loss, parts = forward_backward()
    if update:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), tc.grad_clip)
        run.opt.step()
        if run.ema is not None:
            run.ema.update_parameters(run.model)
    run.spent["frames"] += world * images.shape[0] * images.shape[1]
    # the global loss and its parts: the mean over ranks of the rank-local means
    names = sorted(parts)
    local = torch.tensor([loss] + [parts[k] for k in names], dtype=torch.float64)
    total = ddp.all_reduce_sum(local, info) / world
    run.loss_acc[0] += float(total[0])
    run.loss_acc[1] += 1
    for k, v in zip(names, total[1:].tolist()):
        run.part_acc[k] = run.part_acc.get(k, 0.0) + v
    return update


def _chunked_backward(run: _Run, images, target, prev, identity, sync: bool) -> tuple[float, dict]:
    """Backward of one batch of windows, `tc.tbptt` frames at a time with the temporal state carried and
    detached between chunks (truncated back-propagation through time), each chunk weighted by its share of the
    window and by 1 / accumulate. With no chunking and no accumulation: one plain backward of the loss.
    Returns the batch's loss and its parts (floats, frame-weighted over the chunks)."""
    tc, cfg = run.tc, run.cfg
    t = images.shape[1]
    chunk = tc.tbptt if 0 < tc.tbptt < t else t
    state, loss_sum, parts_sum = None, 0.0, {}
    for t0 in range(0, t, chunk):
        t1 = min(t, t0 + chunk)
        share = (t1 - t0) / t
        weight = share / tc.accumulate
        no_sync = run.info.distributed and not (sync and t1 == t)  # DDP reduces the gradients once per update
        with run.net.no_sync() if no_sync else contextlib.nullcontext():
            with train_autocast(run.device, run.bf16):
                out = run.net(images[:, t0:t1], prev[:, t0:t1], state)
                loss, parts = red_loss(out, target[:, t0:t1], identity, cfg, tc.loss)
            (loss if weight == 1.0 else loss * weight).backward()
        state = detach_state(out.state) if t1 < t else None
        loss_sum += share * float(loss.detach())
        for k, v in parts.items():
            parts_sum[k] = parts_sum.get(k, 0.0) + share * v
    return loss_sum, parts_sum


def detach_state(state: list) -> list:
    """RED's per-pass temporal state (RedOutput.state) cut from the graph, values kept."""
    return [None if s is None else ((s[0][0].detach(), s[0][1].detach()), s[1].detach(), s[2]) for s in state]


def _end_of_epoch(run: _Run, val_clips, pass_: int) -> str | None:
    """Validate (the kept weights), decide by the stop rule, log and checkpoint; returns the rule's action."""
    tc, info = run.tc, run.info
    action = None
    if info.is_main:
        nme = validate(run.kept, val_clips, run.device, tc.val_frames_per_clip)
        value = float(nme.mean()) if len(nme) else float("nan")
        n, steps_done = max(run.loss_acc[1], 1), (pass_ + 1) * run.steps_per_pass
        action = run.plateau.update(value, steps_done)
        if run.plateau.latest_is_best or run.best_state is None:
            run.best_state = {k: v.detach().clone() for k, v in run.kept.state_dict().items()}
        run.rows.append({"epoch": pass_ // tc.passes_per_epoch + 1, "step": steps_done,
                         "train_loss": run.loss_acc[0] / n,
                         **{f"loss_{k}": v / n for k, v in sorted(run.part_acc.items())},
                         "val_nme_inter_ocular": value, "lr": run.opt.param_groups[0]["lr"],
                         "frames_seen": run.spent["frames"],
                         "train_flops": steps_done * run.flops_per_step,
                         "wall_s": round(time.perf_counter() - run.t_start, 1), "stop": action})
        write_log(run.out_dir, run.rows)
        log.info("epoch %d: train loss %.4f, val NME %.4f (%s)", run.rows[-1]["epoch"], run.rows[-1]["train_loss"],
                 value, action)
    action = _broadcast_action(action, info)
    run.loss_acc, run.part_acc = [0.0, 0], {}
    _checkpoint(run, pass_ + 1, 0, None)  # the next pass draws a fresh order
    return action


def _checkpoint(run: _Run, pass_: int, step: int, order: torch.Tensor | None) -> None:
    if run.info.is_main:
        torch_save_atomic({
            "model": run.model.state_dict(), "optim": run.opt.state_dict(), "torch_rng": torch.get_rng_state(),
            "pass": pass_, "step": step, "log": run.rows, "loss_acc": run.loss_acc, "part_acc": run.part_acc,
            "order": order, "params": run.params, "plateau": run.plateau.state(), "best_model": run.best_state,
            "spent": {"wall_s": time.perf_counter() - run.t_start, "frames": run.spent["frames"]},
            "flops_per_step": run.flops_per_step, **({"ema": run.ema.state_dict()} if run.ema is not None else {}),
        }, run.out_dir / CHECKPOINT)
    ddp.barrier(run.info)


def _finish(run: _Run, val_clips, stopped: str) -> None:
    """The best evaluation's weights into model.pt, the cost into metrics.json, and (tc.diagnostics) the
    temporal diagnostics of the kept model on the validation clips."""
    info, rows = run.info, run.rows
    if info.is_main:
        model = run.kept
        if run.best_state is not None:
            model.load_state_dict(run.best_state)
        steps = rows[-1]["step"] if rows else 0
        cost = TrainCost(steps=steps, frames_seen=rows[-1]["frames_seen"] if rows else 0,
                         wall_s=rows[-1]["wall_s"] if rows else 0.0, threads=torch.get_num_threads() * info.world_size,
                         flops=float(steps * (run.flops_per_step or 0)), device=run.device.type, stopped=stopped,
                         flops_source="torch.utils.flop_counter: one training step (forward + backward) x steps")
        if rows:
            write_log(run.out_dir, rows, cost)
        if run.tc.diagnostics:
            diag = temporal_diagnostics(model, val_clips, run.device, run.tc.val_frames_per_clip)
            write_json_atomic(run.out_dir / DIAGNOSTICS, diag)
            log.info("temporal diagnostics (validation NME): %s%s", diag,
                     "" if uses_time(diag) else "; state reset and shuffling cost nothing: RED is not using time")
        save_model(run.out_dir / MODEL, model)
    ddp.barrier(info)
    ddp.teardown(info)


def init_from_static(model: RED, path: Path) -> None:
    """Start full RED from a trained RED-static's weights (model.pt): every module but the temporal path's,
    which keeps its fresh initialisation (with temporal_gate, full RED then computes exactly RED-static)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    except Exception as e:  # a missing, truncated or foreign file
        raise ValueError(f"{path}: not a readable RED model (methods.red.train.init_from): {e}") from None
    missing, unexpected = model.load_state_dict(saved, strict=False)
    foreign = [k for k in missing if not (k.startswith("trnn.") or k == "id_gate")] + list(unexpected)
    if foreign:
        raise ValueError(f"{path}: not a RED-static model of this architecture (methods.red.train.init_from): "
                         f"parameters {foreign[:5]} do not match")


ACTIONS = (None, "improved", "wait", DECAY, STOP)


def _broadcast_action(action: str | None, info: ddp.DistInfo) -> str | None:
    """The main rank's stopping decision, on every rank (they must decay and stop together)."""
    code = torch.tensor([float(ACTIONS.index(action))], dtype=torch.float64)
    return ACTIONS[int(ddp.all_reduce_sum(code, info)[0])]
