"""Training RED: one straight function over any torch Dataset of clips (dicts as ClipDataset yields).

Reproducible and resumable: the data order of each pass is a seeded permutation saved in the checkpoint, the
loaders draw windows and augmentations from (seed, pass, item), the feedback noise from (seed, step), and the
checkpoint holds model, optimiser, schedule, torch RNG state and the position (pass, step), so a run killed
mid-epoch and resumed ends with the same weights as an uninterrupted one. Under torchrun each rank takes its
slice of every global batch; losses are means of per-frame terms, so equal slices average to the global loss.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm import tqdm

from redbench._io import torch_save_atomic
from redbench.config import param
from redbench.datasets.loaders import finish_images
from redbench.red import ddp
from redbench.red.config import RedConfig
from redbench.red.infer import autocast, validate
from redbench.red.losses import LossWeights, red_loss
from redbench.red.model import RED
from redbench.methods.convergence import METRICS, TRAIN_LOG  # noqa: F401 (file names, re-exported)
from redbench.methods.convergence import (DECAY, EXTENDING_FIELDS, IMPROVED, STOP, WAIT, Plateau, StopRule,
                                          TrainCost, count_flops, extends, write_log)

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = param(12, min=1)
    passes_per_epoch: int = param(8, min=1)  # passes over the training clips per epoch (a fresh random window each pass)
    batch_clips: int = param(4, min=1)  # global batch in clips (split across ranks)
    lr: float = param(3e-3, min=0, max=10, exclusive_min=True)
    weight_decay: float = param(1e-4, min=0)
    warmup_steps: int = param(10, min=0)
    grad_clip: float = param(5.0, min=0, exclusive_min=True)
    feedback_noise: float = param(0.02, min=0, max=1)  # std of the noise on the previous-frame feedback, in units of the input side
    checkpoint_every: int = param(20, min=0)  # steps (0: none between); also at every epoch end
    val_frames_per_clip: int = param(50, min=1)
    num_workers: int = param(0, min=0, max=64)
    threads: int = param(0, min=0, max=256)  # torch CPU threads in this process (0: torch's default; 1 is far faster on a busy machine)
    loss: LossWeights = LossWeights()
    stop: StopRule = StopRule()  # the shared stopping rule (redbench/methods/convergence.py); `epochs` caps it


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
RESUMABLE_CHANGES = ("threads", "num_workers", "checkpoint_every")
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
    differs = [k for k in sorted(set(saved) | set(now)) if _norm(saved.get(k)) != _norm(now.get(k))]
    if extends(_stop_rule(saved), _stop_rule(now)):
        differs = [k for k in differs if k not in {STOP_KEY + f for f in EXTENDING_FIELDS}]
    diff = [f"{k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}" for k in differs]
    if diff:
        raise ValueError(f"{path}: cannot resume, the checkpoint was trained with other params ("
                         + "; ".join(diff) + "); train without --resume to start again")


def _stop_rule(params: dict) -> dict:
    return {k[len(STOP_KEY):]: v for k, v in params.items() if k.startswith(STOP_KEY)}


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


def save_model(path: Path, model: RED) -> None:
    """The trained weights with their architecture config (plain types: loadable with weights_only=True)."""
    torch_save_atomic({"config": dataclasses.asdict(model.cfg), "state_dict": model.state_dict()}, path)


def fit(cfg: RedConfig, tc: TrainConfig, train_set: Dataset, val_clips: Sequence[dict] | Dataset,
        out_dir: str | Path, seed: int, resume: bool = False, progress: bool = False,
        step_hook: Callable[[int], None] | None = None) -> list[dict]:
    """Train RED on `train_set` (clips: image (T,3,s,s) uint8 with its colour factors, as the loaders give
    (finished on the device by loaders.finish_images), or float in [0, 1]; landmarks (T,68,2) input px,
    input_to_orig (T,2,3), identity); validate on `val_clips` (whole clips) each epoch, stopping by `tc.stop`
    (or after `tc.epochs`). Writes checkpoint.pt, model.pt (the best validation epoch's weights), train_log.csv
    and metrics.json (with the training cost) under out_dir. `step_hook(global_step)` runs after every step
    (tests use it to interrupt a run). Returns the log rows."""
    out_dir = Path(out_dir)
    info = ddp.setup()
    device = ddp.pick_device(info)
    if tc.threads > 0 and device.type == "cpu":
        torch.set_num_threads(tc.threads)
    world, rank = info.world_size, info.rank
    assert tc.batch_clips % world == 0, f"batch_clips {tc.batch_clips} must divide by the {world} ranks"
    local_b = tc.batch_clips // world
    idx = list(cfg.point_indices)
    s = cfg.input_size

    torch.manual_seed(seed)
    model = RED(cfg)
    if hasattr(train_set, "set_epoch"):
        train_set.set_epoch(0)
    model.mean_shape.copy_(mean_shape(train_set, idx, s))
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if info.distributed else model
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    steps_per_pass = len(train_set) // tc.batch_clips
    if steps_per_pass == 0:
        raise ValueError(f"{len(train_set)} training clips is less than one batch of methods.red.train.batch_clips = "
                         f"{tc.batch_clips}: lower batch_clips or add training videos")
    total_steps = tc.epochs * tc.passes_per_epoch * steps_per_pass
    lr_factor = _schedule(tc, total_steps)
    params_now = run_params(cfg, tc, seed)

    plateau = Plateau(tc.stop)
    start_pass, start_step, rows, loss_acc, part_acc, order = 0, 0, [], [0.0, 0], {}, None
    best_state, spent, flops_per_step = None, {"wall_s": 0.0, "frames": 0}, None
    ck_path = out_dir / CHECKPOINT
    if resume and not ck_path.exists():
        log.warning("%s: nothing to resume, training from scratch", ck_path)
    elif resume:
        ck = torch.load(ck_path, map_location=device, weights_only=True)
        check_resumable(ck_path, ck.get("params"), params_now)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        torch.set_rng_state(ck["torch_rng"])
        start_pass, start_step, rows, loss_acc, part_acc, order = (ck["pass"], ck["step"], ck["log"], ck["loss_acc"],
                                                                   ck["part_acc"], ck["order"])
        plateau = Plateau.from_state(tc.stop, ck["plateau"], rows)
        best_state, spent, flops_per_step = ck["best_model"], ck["spent"], ck["flops_per_step"]
        log.info("resumed from %s at pass %d step %d", ck_path, start_pass, start_step)
    t_start = time.perf_counter() - spent["wall_s"]

    def checkpoint(pass_: int, step: int, order_: torch.Tensor | None) -> None:
        if info.is_main:
            torch_save_atomic({
                "model": model.state_dict(), "optim": opt.state_dict(), "torch_rng": torch.get_rng_state(),
                "pass": pass_, "step": step, "log": rows, "loss_acc": loss_acc, "part_acc": part_acc,
                "order": order_, "params": params_now, "plateau": plateau.state(), "best_model": best_state,
                "spent": {"wall_s": time.perf_counter() - t_start, "frames": spent["frames"]},
                "flops_per_step": flops_per_step,
            }, ck_path)
        ddp.barrier(info)

    bar = tqdm(total=total_steps, initial=start_pass * steps_per_pass + start_step, desc="train red",
               unit="step", disable=not (progress and info.is_main))
    n_passes = tc.epochs * tc.passes_per_epoch
    done = bool(rows) and rows[-1].get("stop") == STOP  # a resumed run that had already stopped
    if done and not plateau.tail_converged():  # stopped by a rule without the convergence condition: go on
        rows[-1]["stop"], done = WAIT, False
    stopped = "plateau" if done else "budget" if tc.stop.patience == 0 else "cap"
    for pass_ in range(start_pass, n_passes if not done else start_pass):
        epoch = pass_ // tc.passes_per_epoch
        if order is None or pass_ != start_pass:  # a resumed pass keeps its saved order
            order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed * 100_003 + pass_))
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(pass_)
        first = start_step if pass_ == start_pass else 0
        batches = [order[k * tc.batch_clips + rank * local_b:k * tc.batch_clips + (rank + 1) * local_b].tolist()
                   for k in range(first, steps_per_pass)]
        loader = DataLoader(train_set, batch_sampler=batches, num_workers=tc.num_workers, collate_fn=default_collate)
        model.train()
        for step, batch in enumerate(loader, start=first):
            gstep = pass_ * steps_per_pass + step
            for group in opt.param_groups:
                group["lr"] = tc.lr * lr_factor(gstep) * plateau.lr_factor
            # uint8 to the device (a quarter of the bytes), float and colour jitter there
            images = finish_images(batch["image"].to(device), batch.get("colour"))  # (b, T, 3, s, s)
            target = batch["landmarks"][:, :, idx].to(device)  # (b, T, L, 2) input pixels
            g = torch.Generator().manual_seed(seed * 1_000_003 + gstep)
            noise = torch.randn((tc.batch_clips, *target.shape[1:]), generator=g)[rank * local_b:(rank + 1) * local_b]
            prev = previous_frame_points(target.cpu(), batch["input_to_orig"], noise * tc.feedback_noise * s)

            def forward_backward():
                with autocast(device):
                    out = net(images, prev.to(device))
                    loss, parts = red_loss(out, target, batch["identity"].to(device), cfg, tc.loss)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                return loss, parts

            if flops_per_step is None:  # counted once (the step's shape never changes), on a real step
                counted = {}
                flops_per_step = world * count_flops(lambda: counted.update(r=forward_backward()))
                loss, parts = counted["r"]
            else:
                loss, parts = forward_backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            spent["frames"] += world * images.shape[0] * images.shape[1]
            # the global loss and its parts: the mean over ranks of the rank-local means
            names = sorted(parts)
            local = torch.tensor([float(loss.detach())] + [parts[k] for k in names], dtype=torch.float64)
            total = ddp.all_reduce_sum(local, info) / world
            loss_acc[0] += float(total[0])
            loss_acc[1] += 1
            for k, v in zip(names, total[1:].tolist()):
                part_acc[k] = part_acc.get(k, 0.0) + v
            bar.update(1)
            bar.set_postfix(loss=f"{loss_acc[0] / loss_acc[1]:.4f}")
            end_of_epoch = step == steps_per_pass - 1 and (pass_ + 1) % tc.passes_per_epoch == 0
            if tc.checkpoint_every and (gstep + 1) % tc.checkpoint_every == 0 and not end_of_epoch:
                checkpoint(pass_, step + 1, order)
            if step_hook is not None:
                step_hook(gstep + 1)
        if (pass_ + 1) % tc.passes_per_epoch == 0:  # end of an epoch: validate, decide, log, checkpoint
            action = None
            if info.is_main:
                nme = validate(model, val_clips, device, tc.val_frames_per_clip)
                value = float(nme.mean()) if len(nme) else float("nan")
                n, steps_done = max(loss_acc[1], 1), (pass_ + 1) * steps_per_pass
                action = plateau.update(value, steps_done)
                if action == IMPROVED or best_state is None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                rows.append({"epoch": epoch + 1, "step": steps_done, "train_loss": loss_acc[0] / n,
                             **{f"loss_{k}": v / n for k, v in sorted(part_acc.items())},
                             "val_nme_inter_ocular": value, "lr": opt.param_groups[0]["lr"],
                             "frames_seen": spent["frames"],
                             "train_flops": steps_done * flops_per_step,
                             "wall_s": round(time.perf_counter() - t_start, 1), "stop": action})
                write_log(out_dir, rows)
                log.info("epoch %d: train loss %.4f, val NME %.4f (%s)", epoch + 1, rows[-1]["train_loss"], value,
                         action)
            action = _broadcast_action(action, info)
            loss_acc, part_acc = [0.0, 0], {}
            checkpoint(pass_ + 1, 0, None)  # the next pass draws a fresh order
            if action == STOP:
                stopped = "plateau"
                break
    bar.close()
    if info.is_main:
        if best_state is not None:
            model.load_state_dict(best_state)
        steps = rows[-1]["step"] if rows else 0
        cost = TrainCost(steps=steps, frames_seen=rows[-1]["frames_seen"] if rows else 0,
                         wall_s=rows[-1]["wall_s"] if rows else 0.0, threads=torch.get_num_threads() * world,
                         flops=float(steps * (flops_per_step or 0)), device=device.type, stopped=stopped,
                         flops_source="torch.utils.flop_counter: one training step (forward + backward) x steps")
        if rows:
            write_log(out_dir, rows, cost)
        save_model(out_dir / MODEL, model)
    ddp.barrier(info)
    ddp.teardown(info)
    return rows


ACTIONS = (None, "improved", "wait", DECAY, STOP)


def _broadcast_action(action: str | None, info: ddp.DistInfo) -> str | None:
    """The main rank's stopping decision, on every rank (they must decay and stop together)."""
    code = torch.tensor([float(ACTIONS.index(action))], dtype=torch.float64)
    return ACTIONS[int(ddp.all_reduce_sum(code, info)[0])]
