"""Synthetic identities: 3D shape parameters and appearance, drawn from a seeded generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HAIR_STYLES = ("short", "long", "fringe", "bald")

# Skin tones (RGB) from light to dark, hair and eye colours (RGB): broad enough that a static method cannot
# key on colour alone.
SKIN_TONES = ((241, 204, 178), (226, 184, 150), (205, 160, 120), (176, 126, 90), (141, 96, 66), (96, 64, 45))
HAIR_COLOURS = ((30, 24, 20), (70, 45, 28), (120, 80, 45), (190, 150, 90), (140, 60, 30), (150, 150, 150))
EYE_COLOURS = ((70, 45, 25), (95, 65, 35), (60, 100, 140), (70, 110, 80), (110, 110, 120))
CLOTHES = ((40, 60, 120), (150, 30, 40), (50, 50, 50), (200, 200, 190), (60, 110, 60), (180, 140, 60))


@dataclass(frozen=True)
class Identity:
    name: str
    # Shape, as factors on the mean shape (1 = mean) or offsets in mm (0 = mean).
    face_width: float
    face_length: float
    eye_spacing: float  # mm added to each eye's distance from the midline
    nose_length: float
    nose_width: float
    mouth_width: float
    jaw_squareness: float  # superellipse exponent of the jaw contour
    brow_height: float  # mm the brows sit above the mean
    # Appearance, RGB colours 0..255.
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    eye: tuple[int, int, int]
    lips: tuple[int, int, int]
    clothes: tuple[int, int, int]
    brow_thickness: float  # mm
    glasses: bool
    beard: bool


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    c = np.clip(np.asarray(colour, float) + rng.normal(0, amount, 3), 0, 255)
    return tuple(int(v) for v in np.round(c))  # type: ignore[return-value]


def sample_identity(rng: np.random.Generator, name: str) -> Identity:
    skin = _jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 8)
    lips = tuple(int(v) for v in np.clip(np.array(skin) * [0.85, 0.6, 0.62] + [15, 0, 5], 0, 255))
    beard = bool(rng.random() < 0.2)
    return Identity(
        name=name,
        face_width=float(rng.uniform(0.88, 1.12)),
        face_length=float(rng.uniform(0.9, 1.1)),
        eye_spacing=float(rng.uniform(-3.5, 3.5)),
        nose_length=float(rng.uniform(0.85, 1.15)),
        nose_width=float(rng.uniform(0.8, 1.25)),
        mouth_width=float(rng.uniform(0.85, 1.18)),
        jaw_squareness=float(rng.uniform(2.1, 3.3)),
        brow_height=float(rng.uniform(-3.0, 4.0)),
        skin=skin,
        hair=_jitter(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 10),
        hair_style=str(HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=[0.4, 0.25, 0.25, 0.1])]),
        eye=_jitter(rng, EYE_COLOURS[rng.integers(len(EYE_COLOURS))], 10),
        lips=lips,  # type: ignore[arg-type]
        clothes=_jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 20),
        brow_thickness=float(rng.uniform(2.5, 6.0)),
        glasses=bool(rng.random() < 0.2),
        beard=beard,
    )
