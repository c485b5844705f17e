"""The standard splits of 300-VW and 300-W (docs protocols.md).

300-VW: the 50 training videos and the three test categories are the split used by SBR, SRT, mmpose and FHR
(Chrysos et al. 2015 define the categories). 300-W: train = afw + helen/trainset + lfpw/trainset (3148 faces),
common = helen/testset + lfpw/testset (554), challenging = ibug (135), full = common + challenging (689).
"""

from __future__ import annotations

from typing import NamedTuple

from redbench.datasets.raw import RawDataError

VW300_TRAIN: tuple[str, ...] = tuple(
    "001 002 003 004 007 009 010 011 013 015 016 017 018 019 020 022 025 027 028 029 031 033 034 035 037 039 041 "
    "043 044 046 047 048 049 053 057 059 112 113 115 119 120 123 138 143 144 160 204 205 223 225".split()
)
VW300_CATEGORIES: dict[int, tuple[str, ...]] = {
    # Category 1: well lit, laboratory-like conditions.
    1: tuple(
        "114 124 125 126 150 158 401 402 505 506 507 508 509 510 511 514 515 518 519 520 521 522 524 525 537 538 "
        "540 541 546 547 548".split()
    ),
    # Category 2: real-world human-computer interaction.
    2: tuple("203 208 211 212 213 214 218 224 403 404 405 406 407 408 409 412 550 551 553".split()),
    # Category 3: arbitrary conditions (the hardest).
    3: tuple("410 411 516 517 526 528 529 530 531 533 557 558 559 562".split()),
}

# Ids the real 300-VW never uses (its ids end at 562): extra test videos of a synthetic stand-in whose category
# needs more distinct people than the real list has (category 3: 14). 9<category><k>, ten per category.
VW300_SYNTHETIC_EXTRA: dict[int, tuple[str, ...]] = {c: tuple(f"9{c}{k}" for k in range(10)) for c in (1, 2, 3)}


class UnknownVideoError(RawDataError):
    """A 300-VW video id that is in none of the split lists."""


def vw300_subset(video_id: str) -> str:
    """"train" | "category1" | "category2" | "category3" for a 3-digit 300-VW video id."""
    if video_id in VW300_TRAIN:
        return "train"
    for category, ids in VW300_CATEGORIES.items():
        if video_id in ids or video_id in VW300_SYNTHETIC_EXTRA[category]:
            return f"category{category}"
    raise UnknownVideoError(
        f"300-VW video {video_id!r} is in none of the split lists (50 train videos, categories 1-3)"
    )


def vw300_split(subset: str) -> str:
    return "train" if subset == "train" else "test"


class W300Folder(NamedTuple):
    path: str  # relative to the 300-W root
    subset: str  # "train" | "common" | "challenging"
    expected: int  # faces in the official release (protocols.md), for a warning on partial copies


W300_FOLDERS: tuple[W300Folder, ...] = (
    W300Folder("afw", "train", 337),
    W300Folder("helen/trainset", "train", 2000),
    W300Folder("lfpw/trainset", "train", 811),
    W300Folder("helen/testset", "common", 330),
    W300Folder("lfpw/testset", "common", 224),
    W300Folder("ibug", "challenging", 135),
)
# Reporting sets made of subsets: "full" is the whole public test set.
W300_EVAL_SETS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "common": ("common",),
    "challenging": ("challenging",),
    "full": ("common", "challenging"),
}


def w300_split(subset: str) -> str:
    return "train" if subset == "train" else "test"


def w300_eval_set(name: str) -> tuple[str, ...]:
    """The subsets that make up a 300-W reporting set ("full" -> ("common", "challenging"))."""
    if name not in W300_EVAL_SETS:
        raise KeyError(f"unknown 300-W set {name!r}; known: {', '.join(W300_EVAL_SETS)}")
    return W300_EVAL_SETS[name]
