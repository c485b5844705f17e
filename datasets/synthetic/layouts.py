"""The real datasets' names and splits that the synthetic stand-ins copy (protocols.md).

300-VW split as used by SBR, SRT, mmpose and FHR (redbench.datasets.splits); 300-W folder structure and file
extensions of the iBUG release.
"""

from __future__ import annotations

from redbench.datasets.splits import VW300_CATEGORIES, VW300_SYNTHETIC_EXTRA, VW300_TRAIN

# The real 300-VW split, from the one place that defines it (the reader uses the same lists).
VW_TRAIN: tuple[str, ...] = VW300_TRAIN
VW_CATEGORY: dict[int, tuple[str, ...]] = VW300_CATEGORIES
# Past the real list's length a category's test videos take the reserved synthetic ids (splits.py).
VW_CATEGORY_EXTRA: dict[int, tuple[str, ...]] = VW300_SYNTHETIC_EXTRA

# 300-W folders: (folder, split, subset, image extension, difficulty category used to draw the still).
# ibug is the "challenging" subset: drawn with category-3 difficulty.
W300_FOLDERS = (
    ("afw", "train", "train", ".jpg", None),
    ("helen/trainset", "train", "train", ".jpg", None),
    ("lfpw/trainset", "train", "train", ".png", None),
    ("helen/testset", "test", "common", ".jpg", None),
    ("lfpw/testset", "test", "common", ".png", None),
    ("ibug", "test", "challenging", ".jpg", 3),
)

TF_NAME = "franck"
