"""Temporal diagnostics: does a trained RED use time?

The same model is run online on validation clips three ways: (a) as is; (b) with its temporal state (the LSTM
state and C_id's running mean) reset before every frame, so each frame is seen alone; (c) on the clip's frames
in a shuffled order (state carried, but across unrelated frames), each prediction scored against its own
frame. If (b) and (c) cost nothing against (a), the model's output does not depend on the past: it is not
using time, whatever its architecture. For RED-static all three are the same by construction.
"""

from __future__ import annotations

import numpy as np
import torch

from redbench.red.infer import OnlineRED, nme_inter_ocular, predict_static_batch, to_input_coords, validation_clip
from redbench.red.model import RED

DIAGNOSTICS = "diagnostics.json"
MODES = ("as_is", "state_reset", "shuffled")
# (b) or (c) must cost at least this fraction of (a)'s NME for the model to count as using time
USES_TIME_MARGIN = 0.01


@torch.no_grad()
def temporal_diagnostics(model: RED, clips, device: torch.device, max_frames: int = 0, seed: int = 0) -> dict:
    """Mean per-frame validation NME (inter-ocular, over the model's points) of `model` on `clips` (dicts as
    ClipDataset(train=False) gives, gt box per frame) in the three MODES, at most `max_frames` frames per clip
    (0: whole clips); the shuffled order is a seeded permutation per clip."""
    was_training = model.training
    model.eval()
    runner = OnlineRED(model, device)
    errors: dict[str, list[np.ndarray]] = {m: [] for m in MODES}
    for i, clip in enumerate(clips):
        gt, to_input, images = validation_clip(clip, model.cfg.point_indices, max_frames)
        t_max = len(gt)
        order = np.random.default_rng([seed, i]).permutation(t_max)
        runner.reset()
        as_is = runner.run_clip(images, to_input)  # (T, L, 2) orig coords
        runner.reset()
        shuffled = np.empty_like(as_is)
        shuffled[order] = runner.run_clip(images[order], to_input[order])
        # every frame alone: a batch of one-frame clips (fresh state each), in input coords
        reset = predict_static_batch(model, images, device) if not runner.needs_steps else \
            np.stack([_alone(runner, images[t], to_input[t]) for t in range(t_max)])
        preds = {"as_is": to_input_coords(as_is, to_input), "shuffled": to_input_coords(shuffled, to_input),
                 "state_reset": reset if not runner.needs_steps else to_input_coords(reset, to_input)}
        for m in MODES:
            errors[m].append(nme_inter_ocular(preds[m], gt, model.cfg.point_indices))
    model.train(was_training)
    return {m: float(np.concatenate(errors[m]).mean()) if errors[m] else float("nan") for m in MODES}


def uses_time(diag: dict, margin: float = USES_TIME_MARGIN) -> bool:
    """Whether resetting the state or shuffling the frames costs more than `margin` of the as-is NME."""
    return max(diag["state_reset"], diag["shuffled"]) > diag["as_is"] * (1 + margin)


def _alone(runner: OnlineRED, image: torch.Tensor, to_input: np.ndarray) -> np.ndarray:
    runner.reset()
    return runner.step(image, to_input)

