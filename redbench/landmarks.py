"""The 68-point iBUG / 300-W landmark schema (0-based indices throughout).

Groups, reference points, the 49/51-point subsets used by 300-VW era papers, and the left-right flip
permutation used by horizontal-flip augmentation and by the flip-equivariance tests.
"""

from __future__ import annotations

import numpy as np

N_POINTS = 68

# Group ranges, 0-based, end exclusive. "right"/"left" are the subject's own sides (iBUG convention:
# points 36-41 are the subject's right eye, which appears on the image's left).
GROUPS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "right_brow": tuple(range(17, 22)),
    "left_brow": tuple(range(22, 27)),
    "nose": tuple(range(27, 36)),
    "right_eye": tuple(range(36, 42)),
    "left_eye": tuple(range(42, 48)),
    "outer_mouth": tuple(range(48, 60)),
    "inner_mouth": tuple(range(60, 68)),
}

# The coarse groups used by per-group error breakdowns (jaw, brows, nose, eyes, mouth).
COARSE_GROUPS: dict[str, tuple[int, ...]] = {
    "jaw": GROUPS["jaw"],
    "brows": GROUPS["right_brow"] + GROUPS["left_brow"],
    "nose": GROUPS["nose"],
    "eyes": GROUPS["right_eye"] + GROUPS["left_eye"],
    "mouth": GROUPS["outer_mouth"] + GROUPS["inner_mouth"],
}

# Outer eye corners: the inter-ocular normaliser of 300-W / 300-VW (protocols.md).
OUTER_EYE_CORNERS = (36, 45)

# 51 points = 68 minus the jaw; 49 points = 51 minus the inner-mouth corners 60 and 64 (protocols.md).
POINTS_68: tuple[int, ...] = tuple(range(68))
POINTS_51: tuple[int, ...] = tuple(range(17, 68))
POINTS_49: tuple[int, ...] = tuple(i for i in POINTS_51 if i not in (60, 64))
POINT_SETS: dict[int, tuple[int, ...]] = {68: POINTS_68, 51: POINTS_51, 49: POINTS_49}

# The 7 points of the authors' released RED demo: 1-based ids 37, 40, 43, 46, 31, 49, 55 (protocols.md).
RED_DEMO_POINTS: tuple[int, ...] = (36, 39, 42, 45, 30, 48, 54)


def _mirror_pairs() -> list[tuple[int, int]]:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw contour, 8 is the chin
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nostrils; 27-30 and 33 lie on the midline
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips; 51, 57 midline
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lips; 62, 66 midline
    return pairs


def flip_permutation() -> np.ndarray:
    """Index array `perm` such that `flipped[:, i] = mirrored(points)[:, perm[i]]` after a horizontal flip."""
    perm = np.arange(N_POINTS)
    for a, b in _mirror_pairs():
        perm[a], perm[b] = b, a
    return perm


def mirror_points(points, x_sum: float):
    """Landmarks (..., 68, 2) mirrored by x -> x_sum - x with left/right relabelled: the one flip helper.

    x_sum is width - 1 for 0-based pixel centres (`flip_points`), 1 for box units in [0, 1], 0 for [-1, 1].
    Works on NumPy arrays and torch tensors alike (fancy indexing copies, so the input is not changed).
    """
    assert tuple(points.shape[-2:]) == (N_POINTS, 2), points.shape
    out = points[..., flip_permutation(), :]
    out[..., 0] = x_sum - out[..., 0]
    return out


def flip_points(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror landmarks (..., 68, 2) in 0-based pixels of an image `width` px wide, relabelling left/right.

    A pixel centre x maps to width - 1 - x under a horizontal flip of the image.
    """
    return mirror_points(points, width - 1)


def eye_centres(points: np.ndarray) -> np.ndarray:
    """Eye centres (..., 2, 2): the mean of each eye's 6 points, subject's right eye first."""
    right = points[..., GROUPS["right_eye"], :].mean(axis=-2)
    left = points[..., GROUPS["left_eye"], :].mean(axis=-2)
    return np.stack([right, left], axis=-2)
