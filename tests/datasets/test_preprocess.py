"""Preprocessing: round trip to the raw .pts, sidecar labels, streaming, determinism after an interruption."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from redbench._io import ForeignFilesError
from redbench.datasets.fake import fake_raw_video, write_fake_tf_layout
from redbench.datasets.geometry import apply_affine, box_to_affine
from redbench.datasets.preprocess import (
    ClipProcessor, PreprocessConfig, PreprocessError, preprocess, preprocess_videos, warp_context,
)
from redbench.datasets.pts import read_pts
from redbench.datasets.shards import FRAME_FIELDS, ShardReader, load_manifest

CFG = PreprocessConfig(crop_size=48, block_frames=4, shard_mb=1000)


def test_round_trip_to_raw_pts_through_the_reader(tmp_path):
    pts = write_fake_tf_layout(tmp_path / "raw", 6)
    summary = preprocess("tf", tmp_path / "raw", tmp_path / "shards", CFG)
    m = load_manifest(tmp_path / "shards", verify=True)
    assert (m.dataset, m.data_source, summary["data_source"]) == ("tf", "real", "real")
    assert [s.path for s in m.shards] == ["test-000.h5"]
    with m.open(m.shards[0]) as r:
        records = [(c.clip_id, c.identity_name, c.subset, c.n_frames) for c in r.clips]
        assert records == [("tf/franck", "tf/franck", "tf", 6)]
        c = r.read_clip(0)
    raw = np.stack([read_pts(p) - 1.0 for p in pts])  # (T, 68, 2) 0-based
    np.testing.assert_allclose(apply_affine(c.landmarks, c.crop_to_orig), raw, atol=1e-3)
    np.testing.assert_allclose(c.landmarks_orig, raw, atol=1e-3)
    # Real data: no occlusion labels, no source pose; PnP pose for every frame.
    assert not c.occlusion_known.any() and not c.occluded.any() and np.isnan(c.pose).all()
    assert np.isfinite(c.pose_pnp).all()
    assert summary["pose_pnp_yaw_abs_error_deg"] == {"n": 0, "median": None, "p90": None}


def test_context_crop_centres_the_face_at_half_the_side(tmp_path):
    preprocess_videos([fake_raw_video("300vw/001", 5, seed=2)], "300vw", tmp_path, CFG)
    with ShardReader(tmp_path / "test-000.h5") as r:
        c = r.read_clip(0)
    lo, hi = c.landmarks.min(axis=1), c.landmarks.max(axis=1)  # (T, 2)
    np.testing.assert_allclose((lo + hi) / 2, 23.5, atol=1e-3)  # centre of a 48 px crop (pixel centres)
    np.testing.assert_allclose((hi - lo).max(axis=1), 24.0, atol=1e-3)  # longer side = 48 / context_scale 2
    np.testing.assert_allclose(c.boxes["gt"][:, :2], lo, atol=1e-4)  # gt box: tight (gt_box_scale 1)
    # Frames with no detection fall back to the previous box: the first frame's gt box.
    assert not c.detector_found.any()
    np.testing.assert_allclose(c.boxes["detector"], np.broadcast_to(c.boxes["gt"][0], (5, 4)))
    assert c.unreliable.tolist() == [False, False, True, False, False]


def test_sidecar_labels_and_pnp_yaw_error(tmp_path):
    video = fake_raw_video("300vw/002", 12, seed=3)
    summary = preprocess_videos([video], "300vw", tmp_path, CFG)
    with ShardReader(tmp_path / "test-000.h5") as r:
        c = r.read_clip(0)
    side = video.sidecar["frames"]
    np.testing.assert_array_equal(c.occluded, np.array([f["occluded"] for f in side]))
    np.testing.assert_allclose(c.pose, np.array([f["pose"] for f in side]), atol=1e-4)
    assert c.occlusion_known.all()
    # The fake head is the mean shape itself, so PnP errs only through the assumed focal length.
    err = summary["pose_pnp_yaw_abs_error_deg"]
    assert err["n"] == 12 and err["median"] < 2.0 and err["p90"] < 3.0
    assert np.abs(c.pose_pnp[:, 0] - c.pose[:, 0]).max() < 4.0
    assert load_manifest(tmp_path).info["preprocess"]["summary"] == json.loads(json.dumps(summary))


def test_block_size_does_not_change_the_output(tmp_path):
    videos = [fake_raw_video(f"300vw/{k:03d}", 9, seed=k) for k in range(2)]
    a = preprocess_videos(videos, "300vw", tmp_path / "a", PreprocessConfig(crop_size=32, block_frames=2))
    b = preprocess_videos(videos, "300vw", tmp_path / "b", PreprocessConfig(crop_size=32, block_frames=50))
    assert a == b
    for name in FRAME_FIELDS:
        with ShardReader(tmp_path / "a/test-000.h5") as ra, ShardReader(tmp_path / "b/test-000.h5") as rb:
            np.testing.assert_array_equal(ra.read_clip(1).field(name), rb.read_clip(1).field(name), err_msg=name)


def test_interrupted_run_then_rerun_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    def videos():
        return [fake_raw_video(f"300vw/{k:03d}", 6, seed=k, split="train", subset="train") for k in range(4)]

    cfg = PreprocessConfig(crop_size=32, shard_mb=0.01)  # 6 frames of 32 px = 0.018 MB: one clip per shard
    preprocess_videos(videos(), "300vw", tmp_path / "clean", cfg)
    clean = load_manifest(tmp_path / "clean")
    assert len(clean.shards) == 4

    out = tmp_path / "interrupted"
    real_blocks = ClipProcessor.blocks

    def dying_blocks(self, video, stats, *measured):
        if video.name == "300vw/002":  # shards 000 and 001 are complete by now
            yield next(real_blocks(self, video, stats, *measured))
            raise KeyboardInterrupt
        yield from real_blocks(self, video, stats, *measured)

    monkeypatch.setattr(ClipProcessor, "blocks", dying_blocks)
    with pytest.raises(KeyboardInterrupt):
        preprocess_videos(videos(), "300vw", out, cfg)
    assert not out.exists()  # nothing new: the finished shards were in a staging folder, now removed
    assert [p.name for p in tmp_path.iterdir()] == ["clean"]
    monkeypatch.setattr(ClipProcessor, "blocks", real_blocks)
    preprocess_videos(videos(), "300vw", out, cfg)
    again = load_manifest(out, verify=True)
    assert [(s.path, s.sha256) for s in again.shards] == [(s.path, s.sha256) for s in clean.shards]
    assert again.sha256 == clean.sha256


def test_stale_shards_of_a_bigger_earlier_run_are_removed(tmp_path):
    cfg = PreprocessConfig(crop_size=32, shard_mb=0.01)
    preprocess_videos([fake_raw_video(f"300vw/{k:03d}", 6, seed=k) for k in range(3)], "300vw", tmp_path, cfg)
    preprocess_videos([fake_raw_video("300vw/000", 6, seed=0)], "300vw", tmp_path, cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "test-000.h5"]


def test_identity_ids_follow_sorted_names(tmp_path):
    videos = [fake_raw_video("300vw/001", 3, identity="zed"), fake_raw_video("300vw/002", 3, identity="amy"),
              fake_raw_video("300vw/003", 3, identity="zed")]
    preprocess_videos(videos, "300vw", tmp_path, CFG)
    m = load_manifest(tmp_path)
    assert m.identities == ("amy", "zed")
    with m.open(m.shards[0]) as r:
        assert [(c.identity, c.identity_name) for c in r.clips] == [(1, "zed"), (0, "amy"), (1, "zed")]


def test_bad_input_errors_name_the_video_and_frame(tmp_path):
    mixed = [fake_raw_video("300vw/001", 2), fake_raw_video("300vw/002", 2, synthetic=False)]
    with pytest.raises(PreprocessError, match="1 of 2 videos are synthetic"):
        preprocess_videos(mixed, "300vw", tmp_path / "a", CFG)
    with pytest.raises(PreprocessError, match="no videos found"):
        preprocess_videos([], "300vw", tmp_path / "b", CFG)
    good = fake_raw_video("300vw/007", 3)

    def broken_frames(wanted=None):  # RawVideo.frames' contract: workers ask for their blocks' frames only
        for f in good.frames(wanted):
            if f.frame_index == 1:
                f = type(f)(f.image, f.landmarks * np.nan, f.frame_index, f.unreliable)
            yield f

    bad = type(good)(**{**good.__dict__, "frames": broken_frames})
    with pytest.raises(PreprocessError, match="300vw/007 frame 1: expected 68 finite landmarks"):
        preprocess_videos([bad], "300vw", tmp_path / "c", CFG)
    with pytest.raises(FileNotFoundError, match="run `redbench fetch tf` first"):
        preprocess("tf", tmp_path / "nowhere", tmp_path / "d", CFG)


def test_warp_context_low_passes_large_downscales():
    # A 4x downscale: a fine checkerboard must come out as flat grey, not as an aliased pattern.
    yy, xx = np.mgrid[:512, :512]
    board = (((xx + yy) % 2) * 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    A = box_to_affine(np.array([0, 0, 512, 512]), 128)
    out = warp_context(board, A, 128)
    assert abs(float(out[8:-8, 8:-8].mean()) - 127.5) < 3 and float(out[8:-8, 8:-8].std()) < 3
    # A bright dot lands where the affine maps it, after the pyramid steps too.
    img = np.zeros((600, 600, 3), np.uint8)
    cv2.circle(img, (300, 220), 12, (255, 255, 255), -1)
    A = box_to_affine(np.array([100.0, 50.0, 500.0, 450.0]), 64)
    out = warp_context(img, A, 64)[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:64, :64]
    centroid = np.array([(xs * out).sum(), (ys * out).sum()]) / out.sum()
    np.testing.assert_allclose(centroid, apply_affine(np.array([[300.0, 220.0]]), A)[0], atol=0.1)


_CHILD = """
import sys
from redbench.datasets.fake import fake_raw_video
from redbench.datasets.preprocess import PreprocessConfig, preprocess_videos
videos = [fake_raw_video(f"300vw/{k:03d}", 6, seed=k, split="train", subset="train") for k in range(int(sys.argv[2]))]
preprocess_videos(videos, "300vw", sys.argv[1], PreprocessConfig(crop_size=32, shard_mb=0.01))
"""


def _processes_running(arg: Path) -> list[int]:
    """PIDs of live processes with `arg` on their command line (forked workers inherit their parent's)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes()
            state = (cmdline.parent / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue  # gone meanwhile
        if str(arg).encode() in text.split(b"\0") and state != "Z":
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="lists processes through /proc")
def test_killed_process_then_rerun_matches_an_uninterrupted_run(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    n = 20
    subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "clean"), str(n)], check=True)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "killed"), str(n)])
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".killed.st-new-*/train-002.h5")) and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)  # no cleanup handlers run: a power cut in the middle of a shard
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    # its forked worker (preprocess.workers: 2) notices and exits instead of waiting on its queue for ever
    while _processes_running(tmp_path / "killed") and time.monotonic() < deadline + 10:
        time.sleep(0.1)
    assert not _processes_running(tmp_path / "killed"), "an orphaned preprocess worker is still running"
    assert not (tmp_path / "killed").exists()  # only the staging folder, which the re-run removes
    subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "killed"), str(n)], check=True)
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == sorted(
        p.name for p in (tmp_path / "clean").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "killed"]  # no staging folder left over
    for name in sorted(p.name for p in (tmp_path / "clean").iterdir()):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name


def test_a_file_preprocess_did_not_write_is_never_deleted(tmp_path):
    cfg = PreprocessConfig(crop_size=32, shard_mb=0.01)
    out = tmp_path / "shards"
    preprocess_videos([fake_raw_video(f"300vw/{k:03d}", 6, seed=k) for k in range(2)], "300vw", out, cfg)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "train-777.h5").write_bytes(b"a user's own file, named like a shard")
    with pytest.raises(ForeignFilesError, match=r"shards: holds 1 file\(s\) that preprocess did not write \(train-777\.h5\)"):
        preprocess_videos([fake_raw_video("300vw/000", 6, seed=0)], "300vw", out, cfg)
    assert (out / "train-777.h5").read_bytes() == b"a user's own file, named like a shard"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "train-777.h5"} == before
    # its own shards of an earlier, bigger run it does replace
    (out / "train-777.h5").unlink()
    preprocess_videos([fake_raw_video("300vw/000", 6, seed=0)], "300vw", out, cfg)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test-000.h5"]


def test_a_failed_preprocess_leaves_no_new_folder(tmp_path):
    bad = fake_raw_video("300vw/001", 3, seed=1)
    frames = list(bad.frames())
    frames[2] = dataclasses.replace(frames[2], landmarks=np.full((68, 2), -5000.0))
    bad = dataclasses.replace(bad, frames=lambda wanted=None: (f for f in frames if not wanted or wanted(f.frame_index)))
    out = tmp_path / "data" / "shards" / "300vw"
    with pytest.raises(PreprocessError, match=r"300vw/001 frame 2: landmark 0 at \(-5000\.0, -5000\.0\) is outside"):
        preprocess_videos([bad], "300vw", out, CFG)
    assert list(tmp_path.iterdir()) == []  # not even the parent folders it created


@pytest.mark.parametrize("crop_size, context_scale", [(48, 2.0), (64, 1.6)])
def test_manifest_records_the_stored_face_size(tmp_path, crop_size, context_scale):
    cfg = PreprocessConfig(crop_size=crop_size, context_scale=context_scale, block_frames=4)
    preprocess_videos([fake_raw_video("300vw/001", 3, seed=2)], "300vw", tmp_path, cfg)
    m = load_manifest(tmp_path)
    assert m.info["preprocess"]["face_px"] == pytest.approx(crop_size / context_scale)
    with ShardReader(tmp_path / "test-000.h5") as r:
        gt = r.read_clip(0).boxes["gt"]
    # the stored face is the gt box's longer side, the size the methods' resolution check compares against
    np.testing.assert_allclose((gt[:, 2:] - gt[:, :2]).max(axis=1), crop_size / context_scale, atol=1e-3)
