"""The crop adapter of the CNNs, SDM, RED and ERT, in training (the loaders) and in prediction: each frame's box
squared about its centre, scaled by a fixed factor and resampled to the method's input size.

It warns (`FaceResolutionWarning`) when that input magnifies the stored face by more than `MAX_UPSAMPLE`: the
method then sees interpolated pixels, not detail the shard lacks. ert_pretrained checks its own input
(baselines/ert_pretrained.py); ert resamples only so that dlib's integer outputs are fine-grained (and is
trained at that resolution), and mean_shape reads no pixels: neither warns.
"""

from __future__ import annotations

import warnings

import numpy as np

from redbench.datasets.geometry import apply_affine, box_to_affine, invert_affine, square_box, warp

# A method's input may magnify the stored face by at most this much before it is warned: at the
# synthetic default (64 px faces) the paper RED preset's 128 px input of the box x 1.25 is 1.6x, the CPU
# methods 0.8-1.04x.
MAX_UPSAMPLE = 1.5


class FaceResolutionWarning(UserWarning):
    """A method's input upsamples the face stored in the shards by more than MAX_UPSAMPLE."""


def crop_affines(boxes: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(N, 2, 3) affines from context-crop coords to size x size inputs of the boxes (N, 4) squared and scaled."""
    squares = square_box(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), scale)
    return np.stack([box_to_affine(b, size) for b in squares]) if len(squares) else np.zeros((0, 2, 3))


def crop_affine(box: np.ndarray, scale: float, size: int) -> np.ndarray:
    """(2, 3) affine from context-crop coords to a size x size input of the box squared and scaled."""
    return crop_affines(box, scale, size)[0]


def check_upsampling(stored_px: float, input_px: float, who: str, limit: float = MAX_UPSAMPLE) -> None:
    """Warn when a method's input holds the face at more than `limit` x the pixels the shard stores."""
    if stored_px > 0 and input_px / stored_px > limit:
        warnings.warn(FaceResolutionWarning(
            f"{who}: the input holds the face at {input_px:.0f} px but the shard crop at {stored_px:.0f} px "
            f"({input_px / stored_px:.2f}x upsampled, more than {limit}x): preprocess with a larger crop_size "
            f"(face px = crop_size / context_scale)"), stacklevel=3)


def square_crop(crops: np.ndarray, boxes: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample each frame's scaled square box: crops (N,S,S,3) uint8, boxes (N,4) -> ((N,size,size,3), (N,2,3)).

    The second array holds the crop->input affines; `to_crop` maps predictions back. Warns when the input
    upsamples the stored face (the box's longer side) by more than MAX_UPSAMPLE.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    affines = crop_affines(boxes, scale, size)
    if len(boxes):
        stored = float(np.median(np.max(boxes[:, 2:] - boxes[:, :2], axis=1)))
        check_upsampling(stored, size / scale, f"a {size} px input of the box x {scale}")
    images = np.stack([warp(c, a, size) for c, a in zip(crops, affines)]) if len(crops) else \
        np.zeros((0, size, size, 3), np.uint8)
    return images, affines


def to_input(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from context-crop coords into the inputs of `square_crop`."""
    return apply_affine(points, affines)


def to_crop(points: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """Map points (N,68,2) from the inputs of `square_crop` back to context-crop coords."""
    return apply_affine(points, invert_affine(affines))
