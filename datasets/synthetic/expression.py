"""Per-frame expression (mouth open, smile, brow raise, blink) moving the 68 landmarks in 3D."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redbench.datasets.synthetic.trajectory import smooth_noise

EXPRESSIONS = ("mouth_open", "smile", "brow_raise", "blink")

_JAW_T = np.linspace(0.0, np.pi, 17)
_JAW_DROP = np.sin(_JAW_T) ** 2  # the chin drops fully with the mouth, the jaw's top (by the ear) not at all


def apply_expression(landmarks: np.ndarray, mouth_open: float, smile: float, brow_raise: float,
                     blink: float) -> np.ndarray:
    """Deform neutral landmarks (68, 3) in mm; every weight is in [0, 1]."""
    p = landmarks.copy()
    # Mouth open: lower lip, inner lower lip and the chin drop; the upper lip lifts a little.
    drop = 15.0 * mouth_open
    p[0:17, 1] += drop * _JAW_DROP
    p[0:17, 2] -= 0.2 * drop * _JAW_DROP
    p[[55, 56, 57, 58, 59], 1] += drop * np.array([0.7, 0.95, 1.0, 0.95, 0.7])
    p[[65, 66, 67], 1] += drop * np.array([0.9, 0.95, 0.9])
    p[[61, 62, 63], 1] -= 1.5 * mouth_open
    p[[48, 54, 60, 64], 1] += 0.25 * drop
    p[[48, 54, 60, 64], 0] *= 1.0 - 0.08 * mouth_open  # corners come in as the mouth rounds
    # Smile: corners out, up and back; the lips stretch.
    p[[48, 60], 0] -= 6.0 * smile
    p[[54, 64], 0] += 6.0 * smile
    p[[48, 54, 60, 64], 1] -= 5.0 * smile
    p[[48, 54, 60, 64], 2] -= 3.0 * smile
    p[[49, 59, 61, 67], 0] -= 2.5 * smile
    p[[53, 55, 63, 65], 0] += 2.5 * smile
    p[[49, 53, 55, 59], 1] -= 2.0 * smile
    # Brow raise: inner brows rise more than the outer ends.
    p[17:27, 1] -= brow_raise * np.array([4, 5.5, 6.5, 7, 7.5, 7.5, 7, 6.5, 5.5, 4])
    # Blink: the upper lids close onto the lower lids, which rise a little.
    for upper, lower in (((37, 38), (41, 40)), ((43, 44), (47, 46))):
        lo = p[list(lower), 1] - 0.5 * blink
        p[list(upper), 1] += blink * (lo - p[list(upper), 1] - 0.3)
        p[list(lower), 1] = lo
    return p


@dataclass(frozen=True)
class ExpressionTrack:
    """Per-frame expression weights, each (T,) in [0, 1]."""

    mouth_open: np.ndarray
    smile: np.ndarray
    brow_raise: np.ndarray
    blink: np.ndarray

    def at(self, t: int) -> tuple[float, float, float, float]:
        return (float(self.mouth_open[t]), float(self.smile[t]), float(self.brow_raise[t]), float(self.blink[t]))


def _blinks(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """Blinks every ~2-6 s, each ~ 0.2 s closing and opening (a triangle profile)."""
    out = np.zeros(n)
    t = rng.uniform(0, 3.0) * fps
    while t < n:
        half = max(1.0, rng.uniform(0.06, 0.12) * fps)
        idx = np.arange(n)
        out = np.maximum(out, np.clip(1.0 - np.abs(idx - round(t)) / half, 0, 1))  # fully shut at one frame
        t += rng.uniform(2.0, 6.0) * fps
    return out


def sample_expressions(rng: np.random.Generator, n: int, fps: float, talking: bool = True) -> ExpressionTrack:
    """Smooth random expressions: talking mouth movement, slow smiles and brow raises, blinks."""
    if talking:  # syllable rate ~ 4 Hz: short-scale noise, rectified
        mouth = np.clip(0.55 * smooth_noise(rng, n, fps * 0.08) + 0.15 * smooth_noise(rng, n, fps * 0.6) + 0.2, 0, 1)
    else:
        mouth = np.clip(0.3 * smooth_noise(rng, n, fps * 0.8) + 0.1, 0, 1)
    smile = np.clip(0.5 * smooth_noise(rng, n, fps * 1.0) + rng.uniform(-0.2, 0.3), 0, 1)
    brow = np.clip(0.5 * smooth_noise(rng, n, fps * 0.7) - 0.1, 0, 1)
    return ExpressionTrack(mouth_open=mouth, smile=smile, brow_raise=brow, blink=_blinks(rng, n, fps))
