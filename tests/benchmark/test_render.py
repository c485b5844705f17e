"""`redbench render` and `redbench previews`: clip choice and NMEs by hand, what is drawn where, identical bytes
for the same inputs, and the previews linked from the HTML leaderboard."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from redbench.benchmark.draw import GT, method_colour
from redbench.benchmark.ground_truth import load_ground_truth
from redbench.benchmark.render import (HEADER_H, LABEL_H, RenderError, clip_mean_nmes, method_track, pick_clip, read_clip,
                                       render_clip, render_frames)
from redbench.cli import main

from .conftest import write_method

OFFSETS = {"near": (1.0, 0.0), "mid": (0.0, 2.0), "far": (3.0, 3.0)}  # px added to the ground truth


@pytest.fixture()
def three(tmp_path, fake_shards):
    """tmp_path with predictions/ of three methods: the ground truth shifted by OFFSETS, plus 'far' 2x worse
    on clip 300vw/011."""
    gt = load_ground_truth(fake_shards / "300vw")
    for name, off in OFFSETS.items():
        pred = gt.landmarks + np.array(off)
        if name == "far":
            pred[gt.clip_ids == "300vw/011"] += np.array(off)
        write_method(tmp_path, gt, name, pred)
    return tmp_path, gt


def _pred(root: Path, m: str) -> Path:
    return root / "predictions" / m / "300vw.h5"


def test_clip_mean_nme_by_hand(three, fake_shards) -> None:
    root, gt = three
    means = clip_mean_nmes(fake_shards / "300vw", _pred(root, "far"))
    d = np.linalg.norm(gt.landmarks[:, 36] - gt.landmarks[:, 45], axis=-1)  # inter-ocular: outer eye corners
    for clip in np.unique(gt.clip_ids):
        rows = gt.clip_ids == clip
        shift = np.hypot(3.0, 3.0) * (2 if clip == "300vw/011" else 1)  # every point moved by the same vector
        assert means[clip] == pytest.approx(np.mean(shift / d[rows]), rel=1e-12)
    assert pick_clip(means, "worst") == "300vw/011"


def test_pick_clip_by_hand() -> None:
    nmes = {"a": 0.1, "b": 0.3, "c": 0.2, "d": 0.2}
    assert pick_clip(nmes, "worst") == "b"
    assert pick_clip(nmes, "median") == "c"  # sorted a, c, d, b: the lower middle, the tie by id
    assert pick_clip({"x": 0.5, "y": 0.1, "z": 0.3}, "median") == "z"
    with pytest.raises(ValueError, match="pick"):
        pick_clip(nmes, "best")


def test_panels_draw_the_ground_truth_and_each_method_where_they_are(three, fake_shards) -> None:
    from redbench.datasets.shards import load_manifest

    root, _ = three
    manifest = load_manifest(fake_shards / "300vw")
    clip = read_clip(fake_shards / "300vw", "300vw/010")
    tracks = [method_track(_pred(root, m), clip, manifest) for m in OFFSETS]
    frames = list(render_frames(clip, tracks, zoom=3, trace_height=60))
    s = clip.crops.shape[1]
    top = HEADER_H + LABEL_H  # the header, then each panel's label strip
    assert len(frames) == 8 and frames[0].shape == (top + 3 * s + 60, 3 * 3 * s, 3)
    # the crops of the fake shards are the original frames scaled by crop_to_orig: an original offset o is o / scale
    scale = clip.crop_to_orig[0, 0, 0]
    np.testing.assert_allclose(tracks[0].landmarks - clip.landmarks, np.broadcast_to(np.array([1.0, 0]) / scale,
                                                                                    clip.landmarks.shape), atol=1e-4)
    t, k = 2, 30  # frame 2, point 30 (nose tip)
    for m, track in enumerate(tracks):
        for points, colour in ((clip.landmarks, GT), (track.landmarks, method_colour(m))):
            x, y = (int(np.floor((v + 0.5) * 3)) for v in points[t, k])
            assert tuple(frames[t][top + y, m * 3 * s + x]) == colour
    d = np.linalg.norm(clip.landmarks_orig[:, 36] - clip.landmarks_orig[:, 45], axis=-1)
    np.testing.assert_allclose(tracks[1].nme, 2.0 / d, rtol=1e-6)  # 'mid': every point 2 px off


def test_render_is_byte_identical_for_the_same_inputs(three, fake_shards, tmp_path) -> None:
    root, _ = three
    preds = [_pred(root, m) for m in OFFSETS]
    for suffix in (".avi", ".gif"):
        digests = []
        for k in range(2):
            out = tmp_path / f"r{k}{suffix}"
            assert render_clip(fake_shards / "300vw", "300vw/010", preds, out) == 8
            digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        assert digests[0] == digests[1]
    capture = cv2.VideoCapture(str(tmp_path / "r0.avi"))
    n = 0
    while capture.read()[0]:
        n += 1
    assert n == 8
    from PIL import Image

    assert Image.open(tmp_path / "r0.gif").n_frames == 8
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_render_errors_name_the_clip_or_file(three, fake_shards, tmp_path) -> None:
    from redbench.datasets.fake import make_fake_shards

    root, _ = three
    with pytest.raises(RenderError, match="no test clip '300vw/999'"):
        render_clip(fake_shards / "300vw", "300vw/999", [_pred(root, "near")], tmp_path / "x.avi")
    other = make_fake_shards(tmp_path / "other" / "300vw", n_clips=12, n_frames=8, crop_size=32, seed=9)
    with pytest.raises(RenderError, match="near/300vw.h5: made from other test shards"):
        render_clip(other.root, "300vw/010", [_pred(root, "near")], tmp_path / "x.avi")
    with pytest.raises(ValueError, match="must end in"):
        render_clip(fake_shards / "300vw", "300vw/010", [_pred(root, "near")], tmp_path / "x.png")
    assert not (tmp_path / "x.avi").exists()


def _cli(*args: str):
    return CliRunner().invoke(main, ["-q", *args])


def test_cli_render_pick_and_previews_linked_from_the_leaderboard(three, fake_shards, tmp_path, monkeypatch) -> None:
    root, _ = three
    monkeypatch.chdir(root)
    common = ["--shards-dir", str(fake_shards), "-m", "near", "-m", "mid", "-m", "far"]
    r = _cli("render", "300vw", *common, "--pick", "worst", "--by", "far", "--out", "worst.avi")
    assert r.exit_code == 0, r.output
    assert "300vw/011" in r.output and Path("worst.avi").stat().st_size > 0
    r = _cli("render", "300vw", *common)
    assert r.exit_code != 0 and "exactly one of --clip and --pick" in r.output

    r = _cli("previews", "300vw", *common, "--by", "far")
    assert r.exit_code == 0, r.output
    index = json.loads(Path("previews/300vw/index.json").read_text())
    assert [p["pick"] for p in index["previews"]] == ["worst", "median"]
    assert index["previews"][0]["clip"] == "300vw/011" and index["data_source"] == "synthetic"
    r = _cli("compare", "-d", "300vw", "-m", "near", "-m", "mid", "-m", "far", "--shards", str(fake_shards), "--out", "results",
             "--bootstrap", "0", "--no-plots")
    assert r.exit_code == 0, r.output
    page = Path("results/leaderboard.html").read_text()
    assert "<h2>Previews</h2>" in page
    assert "href='../previews/300vw/worst.gif'" in page and "src='../previews/300vw/median.gif'" in page
    assert "300vw/011 (category" in page and "synthetic data" in page
    r = _cli("compare", "-d", "300vw", "-m", "near", "--shards", str(fake_shards), "--out", "site/results",
             "--previews", str(root / "previews"), "--bootstrap", "0", "--no-plots")
    assert r.exit_code == 0, r.output  # links are relative to the page wherever it is written
    assert "href='../../previews/300vw/worst.gif'" in Path("site/results/leaderboard.html").read_text()


def test_no_previews_no_section(world, fake_shards, tmp_path, monkeypatch) -> None:
    root, _ = world
    monkeypatch.chdir(root)
    r = _cli("compare", "-d", "300vw", "-m", "good", "-m", "bad", "--shards", str(fake_shards), "--out", "results",
             "--bootstrap", "0", "--no-plots")
    assert r.exit_code == 0, r.output
    assert "Previews" not in Path("results/leaderboard.html").read_text()
