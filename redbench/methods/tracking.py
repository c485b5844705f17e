"""The tracking loop of every method, and the box it tracks with.

Under the "tracking" box protocol a method gets only frame 0's ground-truth box; each later frame's box is
the tight box of the method's own previous output (`tracking_box`), built as preprocessing builds the shards'
"gt" box from the ground-truth landmarks (their tight box x the manifest's preprocess.boxes.gt_box_scale;
redbench.datasets.boxes), so tracking from a perfect prediction reproduces the gt protocol.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from redbench.datasets.boxes import tracking_box as gt_rule_box

Step = Callable[[int, np.ndarray], np.ndarray]  # (frame t, its box (4,)) -> the method's output (68, 2)


def tracking_box(points: np.ndarray, gt_box_scale: float = 1.0) -> np.ndarray:
    """The next frame's box (4,) from a prediction (68, 2), built by the shards' gt box rule
    (redbench.datasets.boxes.tracking_box; pass the manifest's preprocess.boxes.gt_box_scale)."""
    return gt_rule_box(points, gt_box_scale)


def track(step: Step, boxes: np.ndarray, tracking: bool, gt_box_scale: float = 1.0) -> np.ndarray:
    """Run `step` over the frames of one clip in order -> (T, 68, 2) float64.

    With `tracking`, frame 0 gets boxes[0] and frame t > 0 the tracking box of step's output at t - 1 (the
    later rows of `boxes` are never read); without, frame t gets boxes[t]. `gt_box_scale`: the shards'
    preprocess.boxes.gt_box_scale, so that tracking from a perfect prediction gives the gt boxes. An output
    whose box has no area (its points collapsed to a line or a point, or not finite) leaves the box as it was:
    no crop can be cut from such a box.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    out = np.empty((len(boxes), 68, 2), dtype=np.float64)
    box = boxes[0]
    for t in range(len(boxes)):
        out[t] = step(t, box if tracking else boxes[t])
        nxt = tracking_box(out[t], gt_box_scale)
        if np.isfinite(nxt).all() and (nxt[2:] > nxt[:2]).all():
            box = nxt
    return out


# (frame t, indices (K',) of the clips that have a frame t, their boxes (K', 4)) -> their outputs (K', 68, 2)
BatchStep = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


def track_batch(step: BatchStep, first_boxes: np.ndarray, lengths: Sequence[int],
                gt_box_scale: float = 1.0) -> list[np.ndarray]:
    """`track` over K clips at once: frame t of every clip that has one in one call of `step`, so a method
    runs one batch per frame index instead of one forward per frame. Clip k starts from first_boxes[k] and
    each later box is the tracking box of its own previous output, exactly as `track` does for one clip.
    Returns one (T_k, 68, 2) float64 array per clip."""
    lengths = np.asarray(lengths, dtype=np.int64)
    boxes = np.array(first_boxes, dtype=np.float64).reshape(len(lengths), 4)
    out = [np.empty((int(n), 68, 2), dtype=np.float64) for n in lengths]
    for t in range(int(lengths.max(initial=0))):
        active = np.flatnonzero(lengths > t)
        pts = np.asarray(step(t, active, boxes[active]), dtype=np.float64)
        assert pts.shape == (len(active), 68, 2), pts.shape
        for j, k in enumerate(active):
            out[k][t] = pts[j]
            boxes[k] = tracking_box(out[k][t], gt_box_scale)
    return out
