"""Tiny shard sets fabricated from random arrays, for tests that need shards without the raw pipeline.

Faces are plausible: a 68-point 2D template, moved smoothly along each clip with per-frame noise, drawn into
the crops as bright dots on a face-coloured ellipse over a noisy background, so a model can learn from them.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from redbench.datasets.geometry import apply_affine, landmark_box, square_box
from redbench.datasets.shard_writer import ShardFormat, ShardSetWriter
from redbench.datasets.shards import ClipData, ClipRecord, Manifest, load_manifest


def template_2d() -> np.ndarray:
    """A left-right symmetric 68-point frontal face (68, 2) in a unit frame: x, y in about [-1, 1], y down.

    Point order follows the iBUG scheme (0 = jaw on the subject's right, which is the image's left).
    """
    t_jaw = np.linspace(0, np.pi, 17)
    jaw = np.stack([-np.cos(t_jaw), -0.2 + 1.2 * np.sin(t_jaw)], -1)  # x from -1 to 1 through the chin at y = 1
    brow_r = np.stack([np.linspace(-0.75, -0.15, 5), -0.55 - 0.1 * np.sin(np.linspace(0, np.pi, 5))], -1)
    brow_l = brow_r[::-1] * [-1, 1]
    bridge = np.stack([np.zeros(4), np.linspace(-0.35, 0.15, 4)], -1)
    nostrils = np.stack([np.linspace(-0.2, 0.2, 5), 0.3 - 0.05 * np.cos(np.linspace(-1.2, 1.2, 5))], -1)

    def eye(cx: float) -> np.ndarray:  # corner, 2 upper, corner, 2 lower (clockwise in the image)
        t = np.array([np.pi, 4 * np.pi / 3, 5 * np.pi / 3, 0.0, np.pi / 3, 2 * np.pi / 3])
        return np.stack([cx + 0.15 * np.cos(t), -0.3 + 0.07 * np.sin(t)], -1)

    t_out = np.pi - np.arange(12) * (2 * np.pi / 12)  # 48 left corner, upper lip to 54, lower lip back
    mouth_o = np.stack([0.35 * np.cos(t_out), 0.6 - 0.12 * np.sin(t_out)], -1)
    t_in = np.pi - np.arange(8) * (2 * np.pi / 8)
    mouth_i = np.stack([0.25 * np.cos(t_in), 0.6 - 0.05 * np.sin(t_in)], -1)
    pts = np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eye(-0.4), eye(0.4), mouth_o, mouth_i])
    assert pts.shape == (68, 2)
    return pts


def _draw(landmarks: np.ndarray, crop_size: int, rng: np.random.Generator) -> np.ndarray:
    img = rng.integers(40, 90, size=(crop_size, crop_size, 3), dtype=np.uint8)
    box = landmark_box(landmarks)
    centre = tuple(int(v) for v in (box[:2] + box[2:]) / 2)
    axes = tuple(int(v) for v in (box[2:] - box[:2]) / 2)
    cv2.ellipse(img, centre, axes, 0, 0, 360, (200, 160, 130), -1)
    for x, y in landmarks:
        cv2.circle(img, (int(round(x)), int(round(y))), 1, (255, 255, 255), -1)
    return img


def fake_clip(n_frames: int, crop_size: int, rng: np.random.Generator, face_frac: float = 0.45) -> ClipData:
    """One clip of a face drifting and turning slightly; the context crop is the face box enlarged 2x."""
    t = np.arange(n_frames)
    phase = rng.uniform(0, 2 * np.pi, 4)
    centre = crop_size / 2 + 0.05 * crop_size * np.stack([np.sin(0.2 * t + phase[0]), np.sin(0.15 * t + phase[1])], -1)
    half = face_frac * crop_size / 2 * (1 + 0.05 * np.sin(0.1 * t + phase[2]))  # (T,)
    angle = 0.1 * np.sin(0.1 * t + phase[3])  # radians, (T,)
    rot = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1), np.stack([np.sin(angle), np.cos(angle)], -1)], -2)
    lm = np.einsum("tij,lj->tli", rot, template_2d()) * half[:, None, None] + centre[:, None, :]
    lm = lm + rng.normal(0, 0.5, lm.shape)  # (T, 68, 2)
    crops = np.stack([_draw(p, crop_size, rng) for p in lm])
    # Crop -> original: the crop came from an image where the face is `s` times larger.
    s = rng.uniform(1.5, 3.0)
    crop_to_orig = np.tile(np.array([[s, 0, rng.uniform(50, 200)], [0, s, rng.uniform(50, 200)]]), (n_frames, 1, 1))
    gt = square_box(landmark_box(lm), 1.0)  # squared (preprocess stores the tight box)
    jitter = gt + rng.normal(0, 0.05 * crop_size, gt.shape)
    detector = gt + rng.normal(0, 0.03 * crop_size, gt.shape)
    occluded = rng.random((n_frames, 68)) < 0.05
    yaw = np.degrees(angle) * 3
    pose = np.stack([yaw, np.zeros(n_frames), np.degrees(angle)], -1)
    return ClipData(
        crops=crops, landmarks=lm.astype(np.float32), landmarks_orig=apply_affine(lm, crop_to_orig).astype(np.float32),
        crop_to_orig=crop_to_orig.astype(np.float32), occluded=occluded, occlusion_known=np.ones(n_frames, bool),
        self_occluded=np.zeros((n_frames, 68), bool), pose=pose.astype(np.float32),
        pose_pnp=(pose + rng.normal(0, 2, pose.shape)).astype(np.float32),
        boxes={"gt": gt.astype(np.float32), "gt_jitter": jitter.astype(np.float32),
               "detector": detector.astype(np.float32)},
        detector_found=rng.random(n_frames) > 0.1, unreliable=np.zeros(n_frames, bool),
        frame_index=t.astype(np.int32),
    )


def make_fake_shards(dir: str | os.PathLike, n_clips: int = 6, n_frames: int = 12, crop_size: int = 64,
                     seed: int = 0, dataset: str = "300vw", n_identities: int | None = None,
                     test_fraction: float = 1 / 3, shard_mb: float = 256.0, compression: str = "none") -> Manifest:
    """Write a small shard set (train and test clips, a manifest) under `dir` and return its manifest.

    Clip k has identity k % n_identities (default: one identity per clip); the last ceil(test_fraction *
    n_clips) clips are test clips, spread over category1..3. data_source is "synthetic".
    """
    rng = np.random.default_rng(seed)
    n_ids = n_identities or n_clips
    identities = [f"{dataset}/id{k:03d}" for k in range(n_ids)]
    n_test = int(np.ceil(test_fraction * n_clips)) if n_clips > 1 else 0
    fmt = ShardFormat(crop_size=crop_size, compression=compression, chunk_frames=8, shard_mb=shard_mb)
    with ShardSetWriter(dir, dataset, "synthetic", fmt) as w:
        for k in range(n_clips):
            test = k >= n_clips - n_test
            rec = ClipRecord(f"{dataset}/{k:03d}", k % n_ids, identities[k % n_ids], "test" if test else "train",
                             f"category{1 + k % 3}" if test else "train", n_frames)
            w.write_clip(rec, [fake_clip(n_frames, crop_size, rng)])
        w.finish(identities, {"fake": True})
    return load_manifest(dir)


def fake_raw_video(name: str, n_frames: int, seed: int = 0, size: tuple[int, int] = (256, 192),
                   synthetic: bool = True, identity: str | None = None, split: str = "test",
                   subset: str = "category1", face_px: float = 80.0):
    """A RawVideo (redbench.datasets.raw) of the 3D mean shape turning its head, drawn as dots on an ellipse.

    Frames decode lazily and identically on every call. With `synthetic`, a generator-style sidecar gives the
    true pose (yaw sweeping +-40 deg, small pitch and roll) and per-point occlusion flags.
    """
    from redbench.datasets.mean_shape_3d import mean_shape_3d
    from redbench.datasets.pose import rotation
    from redbench.datasets.raw import RawFrame, RawVideo

    w, h = size
    shape = mean_shape_3d()
    t = np.arange(n_frames)
    pose = np.stack([40 * np.sin(0.3 * t + seed), 8 * np.sin(0.2 * t), 5 * np.cos(0.25 * t)], -1)  # (T, 3)
    px_per_mm = face_px / np.ptp(shape[:, 1])

    def landmarks(i: int) -> np.ndarray:
        q = shape @ rotation(*pose[i]).T
        s = px_per_mm * 700.0 / (700.0 - q[:, 2])
        return np.array([w / 2 + 3 * np.sin(0.1 * i), h / 2]) + q[:, :2] * s[:, None]

    occluded = [[bool((k + i) % 17 == 0) for k in range(68)] for i in range(n_frames)]
    sidecar = {"schema": 1, "generator": "redbench.synthetic", "seed": seed, "identity": identity or name,
               "category": 1, "frames": [{"pose": pose[i].tolist(), "occluded": occluded[i],
                                          "self_occluded": [False] * 68} for i in range(n_frames)]}

    def frames(wanted=None):
        rng = np.random.default_rng(seed)
        for i in range(n_frames):
            lm = landmarks(i)
            img = rng.integers(30, 80, size=(h, w, 3), dtype=np.uint8)
            box = landmark_box(lm)
            cv2.ellipse(img, tuple(int(v) for v in (box[:2] + box[2:]) / 2),
                        tuple(int(v) for v in (box[2:] - box[:2]) / 2), 0, 0, 360, (200, 160, 130), -1)
            for x, y in lm:
                cv2.circle(img, (int(round(x)), int(round(y))), 1, (255, 255, 255), -1)
            if wanted is None or wanted(i):  # drawn either way: frame i's pixels come from the same stream
                yield RawFrame(image=img, landmarks=lm, frame_index=i, unreliable=i == 2)

    return RawVideo(dataset="300vw", name=name, identity=identity or name, split=split, subset=subset,
                    n_frames=n_frames, sidecar=sidecar if synthetic else None, frames=frames)


def write_fake_tf_layout(root: str | os.PathLike, n_frames: int, synthetic: bool = False, seed: int = 1) -> list[Path]:
    """A Talking Face style raw folder (franck_NNNNN.png + 1-based .pts, a sidecar if `synthetic`) drawn
    from `fake_raw_video`; returns the .pts paths in frame order."""
    import json

    from redbench.datasets.pts import to_one_based, write_pts

    root = Path(root)
    video = fake_raw_video("tf/franck", n_frames, seed=seed, synthetic=synthetic)
    root.mkdir(parents=True, exist_ok=True)
    pts = []
    for f in video.frames():
        cv2.imwrite(str(root / f"franck_{f.frame_index:05d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
        pts.append(root / f"franck_{f.frame_index:05d}.pts")
        write_pts(pts[-1], to_one_based(f.landmarks))
    if synthetic:
        (root / "redbench.json").write_text(json.dumps(video.sidecar))
    return pts


def write_synthetic_video(folder: str | os.PathLike, n_frames: int, seed: int = 0, category: int = 1,
                          size: tuple[int, int] = (256, 192), face_height: float = 80.0,
                          frames_dir: str | os.PathLike | None = None) -> Path:
    """A synthetic 300-VW video in its raw layout (`folder/vid.avi` MJPG, `annot/`, sidecar), drawn by the
    generator (redbench.datasets.synthetic) at the default run's frame size; with `frames_dir`, the same
    frames also as lossless `000001.png ...` there. Returns the .avi path."""
    from redbench.datasets.synthetic.config import SyntheticConfig
    from redbench.datasets.synthetic.generate import item_rng, make_identity
    from redbench.datasets.synthetic.scene import make_script, render_script
    from redbench.datasets.synthetic.writers import write_vw_video

    cfg = SyntheticConfig.micro(seed=seed)
    script = make_script(item_rng(seed, "fake-video"), make_identity(cfg, "test", 0), category, n_frames, cfg.fps,
                         size, face_height)
    frames = list(render_script(script))
    folder = Path(folder)
    write_vw_video(folder, frames, cfg.fps, 95, seed, "fake", category)
    if frames_dir is not None:
        Path(frames_dir).mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(frames):
            cv2.imwrite(str(Path(frames_dir) / f"{i + 1:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    return folder / "vid.avi"
