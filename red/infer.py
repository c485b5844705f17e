"""RED inference over a clip in order: the LSTM state is carried from frame to frame within the clip, and each
frame's first sRNN pass is fed the previous frame's prediction, mapped into this frame's input (when the model
uses that feedback: RedConfig.frame_feedback).

Without the feedback a frame's input does not depend on the previous output, so `OnlineRED.run_clip` runs
chunks of frames through one batched forward, carrying the LSTM state and C_id's running mean from chunk to
chunk: causal, and the same outputs as frame-by-frame steps (to float rounding), at batched speed.

Points live in a "common" frame shared by all frames of the clip (context-crop coordinates for the method,
original-image coordinates for validation); each frame brings its own common -> input affine.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import torch

from redbench import metrics
from redbench.datasets.geometry import apply_affine, invert_affine
from redbench.datasets.loaders import finish_images
from redbench.landmarks import N_POINTS, OUTER_EYE_CORNERS
from redbench.red.model import RED

log = logging.getLogger(__name__)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Inference precision: bf16 autocast on CUDA; full precision on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_bf16(device: torch.device, precision: str) -> bool:
    """Whether CPU training runs under bf16 autocast: asked for (methods.red.train.precision) and the processor
    has bf16 instructions (oneDNN's check: AVX-512 BF16 or AMX); otherwise fp32, said in the log."""
    if device.type != "cpu" or precision != "bf16":
        return False
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return True
    log.warning("precision bf16: this CPU has no bf16 instructions (AVX-512 BF16 / AMX); training in fp32")
    return False


def train_autocast(device: torch.device, bf16_cpu: bool) -> contextlib.AbstractContextManager:
    """Training precision: bf16 autocast on CUDA, and on the CPU when `bf16_cpu` (cpu_bf16)."""
    if device.type == "cpu" and bf16_cpu:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return autocast(device)


class OnlineRED:
    """Frame-by-frame RED for one clip at a time (call `reset` between clips)."""

    def __init__(self, model: RED, device: torch.device) -> None:
        self.model, self.device = model, device
        self.reset()

    def reset(self) -> None:
        self.state: list | None = None
        self.prev: np.ndarray | None = None  # (L, 2) previous prediction in common coords

    @property
    def needs_steps(self) -> bool:
        """Whether each frame needs the previous frame's output (the pass-0 feedback), so one frame at a time."""
        return self.model.cfg.temporal and self.model.cfg.frame_feedback

    @torch.no_grad()
    def run_clip(self, images: torch.Tensor, to_input: np.ndarray, chunk: int = 32) -> np.ndarray:
        """A clip's frames in order after `reset`: images (T, 3, s, s) in [0, 1], to_input (T, 2, 3) common ->
        input. Returns (T, L, 2) common coords; batched `chunk` frames at a time unless `needs_steps`."""
        if self.needs_steps:
            return np.stack([self.step(images[t], to_input[t]) for t in range(len(images))])
        out = []
        for t0 in range(0, len(images), chunk):
            x = images[t0:t0 + chunk].to(self.device)[None]  # (1, t, 3, s, s): one clip
            with autocast(self.device):
                res = self.model(x, None, self.state)
            self.state = res.state if self.model.cfg.temporal else None
            pts = res.landmarks[0].float().cpu().numpy().astype(np.float64)  # (t, L, 2) input coords
            out.extend(apply_affine(p, invert_affine(a)) for p, a in zip(pts, to_input[t0:t0 + chunk]))
        self.prev = out[-1] if out else self.prev
        return np.stack(out) if out else np.zeros((0, self.model.cfg.n_landmarks, 2))

    @torch.no_grad()
    def step(self, image: torch.Tensor, to_input: np.ndarray) -> np.ndarray:
        """image (3, s, s) float in [0, 1]; to_input (2, 3) common -> input. Returns (L, 2) common coords."""
        n_pts = self.model.cfg.n_landmarks
        prev = np.full((n_pts, 2), np.nan) if self.prev is None else apply_affine(self.prev, to_input)
        prev_t = torch.as_tensor(prev, dtype=torch.float32, device=self.device).view(1, 1, n_pts, 2)
        x = image.to(self.device).view(1, 1, *image.shape)
        with autocast(self.device):
            out = self.model(x, prev_t, self.state)
        self.state = out.state if self.model.cfg.temporal else None
        pts_input = out.landmarks[0, 0].float().cpu().numpy().astype(np.float64)  # (L, 2)
        self.prev = apply_affine(pts_input, invert_affine(to_input))
        return self.prev


class BatchedOnlineRED:
    """`OnlineRED.step` for frame t of several clips at once (the tracking protocol's batch): clip j of the
    batch keeps its own LSTM state, C_id running sum and previous prediction in row j. Clips are ordered
    longest first, so the clips that still have a frame t are always the first n rows: the state of the
    clips that ended is dropped by keeping the first n rows."""

    def __init__(self, model: RED, device: torch.device) -> None:
        self.model, self.device = model, device
        self.state: list | None = None
        self.prev: np.ndarray | None = None  # (n, L, 2) previous predictions in common coords

    @torch.no_grad()
    def step(self, images: torch.Tensor, to_input: np.ndarray) -> np.ndarray:
        """images (n, 3, s, s) in [0, 1]: frame t of the first n clips; to_input (n, 2, 3) common -> input.
        Returns (n, L, 2) common coords."""
        n, n_pts = len(images), self.model.cfg.n_landmarks
        assert self.prev is None or n <= len(self.prev), "clips must be ordered longest first"
        prev = np.full((n, n_pts, 2), np.nan) if self.prev is None else apply_affine(self.prev[:n], to_input)
        prev_t = torch.as_tensor(prev, dtype=torch.float32, device=self.device).view(n, 1, n_pts, 2)
        x = images.to(self.device)[:, None]  # (n, 1, 3, s, s): one frame of each clip
        with autocast(self.device):
            out = self.model(x, prev_t, _first_rows(self.state, n))
        self.state = out.state if self.model.cfg.temporal else None
        pts = out.landmarks[:, 0].float().cpu().numpy().astype(np.float64)  # (n, L, 2) input coords
        self.prev = apply_affine(pts, invert_affine(to_input))
        return self.prev


def _first_rows(state: list | None, n: int) -> list | None:
    """The recurrent state (RedOutput.state) of the first n clips of its batch."""
    if state is None:
        return None
    out = []
    for s in state:  # per sRNN pass: (LSTM (h, c) of shape (1, B*h*w, C), C_id sum (B, ...), frame count)
        if s is None:
            out.append(None)
            continue
        (h, c), id_sum, count = s
        per_clip = h.shape[1] // id_sum.shape[0]  # LSTM rows of one clip: its bottleneck positions, clip-major
        out.append(((h[:, :n * per_clip], c[:, :n * per_clip]), id_sum[:n], count))
    return out


@torch.no_grad()
def predict_static_batch(model: RED, images: torch.Tensor, device: torch.device) -> np.ndarray:
    """RED-static on independent frames: images (N, 3, s, s) -> (N, L, 2) input coords, in one batch."""
    with autocast(device):
        out = model(images.to(device)[:, None])
    return out.landmarks[:, 0].float().cpu().numpy().astype(np.float64)


def nme_inter_ocular(pred: np.ndarray, gt: np.ndarray, point_indices: tuple[int, ...]) -> np.ndarray:
    """Per-frame NME over the model's points: pred, gt (N, L, 2) -> (N,), by the scorer's own function
    (redbench.metrics.nme: mean point error / outer-eye-corner distance), the L points placed in 68."""
    missing = set(OUTER_EYE_CORNERS) - set(point_indices)
    if missing:
        raise ValueError(f"point set {point_indices} lacks the outer eye corners {sorted(missing)}")
    idx = list(point_indices)
    full_pred, full_gt = np.zeros((2, len(gt), N_POINTS, 2))
    full_pred[:, idx], full_gt[:, idx] = pred, gt
    return metrics.nme(full_pred, full_gt, "inter_ocular", points=idx)


def validation_clip(clip: dict, point_indices: tuple[int, ...], max_frames: int
                    ) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """A validation clip's first `max_frames` frames (0: all): gt (T, L, 2) input coords, to_input (T, 2, 3) orig ->
    input affines, images (T, 3, s, s) float in [0, 1]."""
    t_max = min(len(clip["image"]), max_frames or len(clip["image"]))
    gt = clip["landmarks"][:t_max, list(point_indices)].double().numpy()
    to_input = invert_affine(clip["input_to_orig"][:t_max].double().numpy())
    return gt, to_input, finish_images(clip["image"][:t_max], clip.get("colour"))


def to_input_coords(points: np.ndarray, to_input: np.ndarray) -> np.ndarray:
    """(T, L, 2) points in the clip's common frame -> each frame's input coords."""
    return np.stack([apply_affine(p, a) for p, a in zip(points, to_input)])


@torch.no_grad()
def validate(model: RED, clips, device: torch.device, max_frames: int) -> np.ndarray:
    """Per-frame inter-ocular NME on validation clips (dicts from ClipDataset(train=False)), each run online
    from its first frame with the gt box per frame, at most `max_frames` frames per clip (0: whole clips)."""
    was_training = model.training
    model.eval()
    runner = OnlineRED(model, device)
    errors = []
    for clip in clips:
        gt, to_input, images = validation_clip(clip, model.cfg.point_indices, max_frames)
        runner.reset()
        pred = to_input_coords(runner.run_clip(images, to_input), to_input)
        errors.append(nme_inter_ocular(pred, gt, model.cfg.point_indices))
    model.train(was_training)
    return np.concatenate(errors) if errors else np.zeros(0)
