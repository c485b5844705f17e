"""Smooth random trajectories: head pose, position, scale and lighting per frame, by difficulty category.

The three categories mirror 300-VW's: 1 = frontal-ish, well lit, slow; 2 = moderate pose, lighting changes;
3 = large pose (up to near profile), dim and changing light, fast motion (hence motion blur).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d


@dataclass(frozen=True)
class Difficulty:
    yaw_base: tuple[float, float]  # |mean yaw| range, deg
    yaw_std: float
    pitch_std: float
    roll_std: float
    pose_max: tuple[float, float, float]  # |yaw|, |pitch|, |roll| limits, deg
    timescale_s: float  # correlation time of the motion: smaller = faster
    move_frac: float  # std of the face centre's wander, as a fraction of the face height
    scale_std: float  # relative std of the face size over time
    light_gain: tuple[float, float]  # range of the overall brightness factor
    light_std: float  # std of its change over time
    noise_sigma: float  # sensor noise, grey levels
    blur_exposure: float  # motion-blur length = exposure x face speed (px/frame)
    occluder_prob: float  # chance a video (or still) gets an occluder at all
    max_occluders: int
    occluder_run: tuple[float, float]  # fraction of the video one occluder stays on the face


DIFFICULTY: dict[int, Difficulty] = {
    1: Difficulty(yaw_base=(0, 8), yaw_std=6, pitch_std=4, roll_std=3, pose_max=(20, 15, 10),
                  timescale_s=2.0, move_frac=0.08, scale_std=0.03, light_gain=(0.9, 1.1), light_std=0.03,
                  noise_sigma=2.0, blur_exposure=0.3, occluder_prob=0.15, max_occluders=1,
                  occluder_run=(0.1, 0.25)),
    2: Difficulty(yaw_base=(5, 25), yaw_std=14, pitch_std=9, roll_std=8, pose_max=(45, 25, 20),
                  timescale_s=1.2, move_frac=0.15, scale_std=0.06, light_gain=(0.6, 1.2), light_std=0.15,
                  noise_sigma=4.0, blur_exposure=0.6, occluder_prob=0.6, max_occluders=1,
                  occluder_run=(0.2, 0.45)),
    3: Difficulty(yaw_base=(30, 50), yaw_std=15, pitch_std=13, roll_std=14, pose_max=(70, 35, 35),
                  timescale_s=0.5, move_frac=0.3, scale_std=0.1, light_gain=(0.4, 1.25), light_std=0.25,
                  noise_sigma=7.0, blur_exposure=1.0, occluder_prob=0.95, max_occluders=2,
                  occluder_run=(0.3, 0.6)),
}


def smooth_noise(rng: np.random.Generator, n: int, timescale: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-smoothed noise (n,) with correlation length `timescale` frames."""
    if n == 1:
        return rng.normal(size=1)
    sigma = max(timescale, 0.5)
    pad = int(3 * sigma) + 1
    x = gaussian_filter1d(rng.normal(size=n + 2 * pad), sigma, mode="wrap")[pad:pad + n]
    # Normalise by the filter's expected std (not the sample's), so short clips keep their amplitude.
    k = np.exp(-0.5 * (np.arange(-pad, pad + 1) / sigma) ** 2)
    k /= k.sum()
    return x / np.sqrt((k**2).sum())


@dataclass(frozen=True)
class Motion:
    """Per-frame camera and lighting of one video (T frames)."""

    pose: np.ndarray  # (T, 3) yaw, pitch, roll in degrees
    centre: np.ndarray  # (T, 2) image position of the model origin, px
    scale: np.ndarray  # (T,) px per mm
    light_gain: np.ndarray  # (T,)
    light_dir: np.ndarray  # (T, 3) unit light direction in camera coordinates
    tint: np.ndarray  # (3,) RGB white balance of the camera / light colour
    noise_sigma: float
    blur_exposure: float


def sample_motion(rng: np.random.Generator, n: int, fps: float, diff: Difficulty, frame_wh: tuple[int, int],
                  face_height: float, mm_height: float) -> Motion:
    """A smooth random trajectory of n frames; the face stays inside the frame."""
    ts = diff.timescale_s * fps
    sign = rng.choice([-1.0, 1.0])
    yaw = sign * rng.uniform(*diff.yaw_base) + diff.yaw_std * smooth_noise(rng, n, ts)
    pitch = rng.uniform(-0.4, 0.4) * diff.pitch_std + diff.pitch_std * smooth_noise(rng, n, ts)
    roll = rng.uniform(-0.4, 0.4) * diff.roll_std + diff.roll_std * smooth_noise(rng, n, ts)
    lim = np.array(diff.pose_max)
    pose = np.clip(np.stack([yaw, pitch, roll], axis=1), -lim, lim)

    scale0 = face_height / mm_height
    scale = scale0 * np.exp(diff.scale_std * smooth_noise(rng, n, ts * 1.5))
    w, h = frame_wh
    # Margins round the model origin (the landmarks' centroid, ~ mid-nose): ears at the sides, the skull's top
    # ~ 1 face height above it; below, only the chin needs to stay in (the neck may leave the frame).
    lo = np.array([0.72 * face_height, 0.95 * face_height])
    hi = np.array([w - 0.72 * face_height, h - 0.62 * face_height])
    start = rng.uniform(lo, np.maximum(lo, hi)) if (hi > lo).all() else (lo + hi) / 2
    wander = diff.move_frac * face_height * np.stack([smooth_noise(rng, n, ts), smooth_noise(rng, n, ts)], 1)
    centre = np.clip(start + wander, lo, np.maximum(lo, hi))

    g0 = rng.uniform(*diff.light_gain)
    gain = np.clip(g0 + diff.light_std * smooth_noise(rng, n, ts * 2), *diff.light_gain)
    az = rng.uniform(-np.pi, np.pi) + 0.6 * (diff.light_std / 0.25) * smooth_noise(rng, n, ts * 3)
    elev = rng.uniform(0.3, 0.9)
    light = np.stack([np.cos(az) * np.sin(elev), np.sin(az) * np.sin(elev), np.full(n, np.cos(elev))], axis=1)
    # White balance: warm (tungsten) to cool (daylight, screens), wider in the harder categories.
    warmth = rng.uniform(-1, 1) * (0.04 + 0.3 * diff.light_std)
    tint = np.array([1.0 + warmth, 1.0, 1.0 - warmth])
    return Motion(pose=pose, centre=centre, scale=scale, light_gain=gain, light_dir=light, tint=tint,
                  noise_sigma=diff.noise_sigma, blur_exposure=diff.blur_exposure)
