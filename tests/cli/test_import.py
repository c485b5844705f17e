"""`redbench import FORMAT SOURCE`: small files in the real layouts (300-VW .pts folders, CSV, FHR's .mat),
then `redbench compare -m NAME` on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from redbench import metrics as M
from redbench.benchmark.ground_truth import load_ground_truth
from redbench.benchmark.importers import fhr_to_image, gt_rows
from redbench.benchmark.store import read_predictions
from redbench.cli import main
from redbench.datasets.pts import write_pts


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("import")
    make_fake_shards(root / "data" / "shards" / "300vw", n_clips=6, n_frames=5, crop_size=32, seed=3)
    return root / "data" / "shards"


@pytest.fixture()
def work(tmp_path, shards):
    params = {"compare": {"shards_dir": str(shards), "predictions_dir": str(tmp_path / "predictions"),
                          "out_dir": str(tmp_path / "results"), "datasets": ["300vw"],
                          "bootstrap": {"resamples": 50}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path, load_ground_truth(shards / "300vw")


def _run(root: Path, *args: str):
    return CliRunner().invoke(main, ["-q", "--params", str(root / "params.yaml"), *args], catch_exceptions=False)


def _offset(gt) -> np.ndarray:
    """A prediction 2 px right of the GT: NME = 2 / inter-ocular distance."""
    return gt.landmarks + [2.0, 0.0]


def test_pts_folder_in_the_300vw_layout_then_compare(work):
    root, gt = work
    pred = _offset(gt)
    for clip, frame, p in zip(gt.clip_ids, gt.frame_indices, pred):
        video = clip.split("/")[1]
        write_pts(root / "theirs" / video / "annot" / f"{frame + 1:06d}.pts", p + 1.0)  # .pts: 1-based
    r = _run(root, "import", "pts", str(root / "theirs"), "-d", "300vw", "-m", "theirs")
    assert r.exit_code == 0, r.output
    out = root / "predictions" / "theirs" / "300vw.h5"
    stored = read_predictions(out)
    assert stored.meta.method_version == "imported pts" and stored.meta.seconds_per_frame is None
    assert stored.meta.test_manifest_hash == gt.manifest_sha256 and stored.meta.box_protocol == "gt"
    rows = gt_rows(gt, stored.clip_ids, stored.frame_indices)
    np.testing.assert_allclose(stored.landmarks, pred[rows], atol=1e-3)  # .pts keeps 3 decimals
    prov = json.loads((root / "predictions" / "theirs" / "300vw.import.json").read_text())
    assert prov["format"] == "pts" and prov["source_files"] == len(gt) and len(prov["source_sha256"]) == 64
    r = _run(root, "compare", "-m", "theirs", "--no-plots")
    assert r.exit_code == 0, r.output
    metrics = json.loads((root / "results" / "metrics.json").read_text())
    nme = metrics["datasets"]["300vw"]["methods"]["theirs"]["metrics"]["nme"]["value"]
    assert nme == pytest.approx(np.mean(2.0 / M.normaliser(gt.landmarks)), rel=1e-3)


def test_pts_folder_missing_frames_is_reported(work):
    root, gt = work
    for clip, frame, p in zip(gt.clip_ids, gt.frame_indices, gt.landmarks):
        if frame != 2:
            write_pts(root / "theirs" / clip.split("/")[1] / "annot" / f"{frame + 1:06d}.pts", p + 1.0)
    r = _run(root, "import", "pts", str(root / "theirs"), "-d", "300vw", "-m", "theirs")
    n_clips = len(set(gt.clip_ids))
    assert r.exit_code == 0 and f"{n_clips} of {len(gt)} test frames have no prediction" in r.output


def _write_csv(path: Path, clips, frames, points) -> None:
    header = "clip_id,frame_index," + ",".join(f"x{i},y{i}" for i in range(68))
    lines = [header] + [f"{c},{f}," + ",".join(f"{v:.6f}" for v in p.ravel()) for c, f, p in zip(clips, frames, points)]
    path.write_text("\n".join(lines) + "\n")


def test_csv_with_and_without_the_dataset_prefix(work):
    root, gt = work
    pred = _offset(gt)
    clips = [c if i % 2 else c.split("/")[1] for i, c in enumerate(gt.clip_ids)]  # "300vw/008" or "008"
    _write_csv(root / "theirs.csv", clips, gt.frame_indices, pred)
    r = _run(root, "import", "csv", str(root / "theirs.csv"), "-d", "300vw", "-m", "csvm",
             "--out", str(root / "elsewhere" / "x.h5"))
    assert r.exit_code == 0, r.output
    stored = read_predictions(root / "elsewhere" / "x.h5")
    np.testing.assert_allclose(stored.landmarks, pred[gt_rows(gt, stored.clip_ids, stored.frame_indices)], atol=1e-6)


def test_csv_errors_name_file_and_line_and_write_nothing(work):
    root, gt = work
    _write_csv(root / "bad.csv", gt.clip_ids[:3], gt.frame_indices[:3], gt.landmarks[:3])
    lines = (root / "bad.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",", ",oops,", 1)
    (root / "bad.csv").write_text("\n".join(lines))
    r = _run(root, "import", "csv", str(root / "bad.csv"), "-d", "300vw", "-m", "bad")
    assert r.exit_code != 0 and "bad.csv:3" in r.output
    assert not (root / "predictions" / "bad").exists()


def test_unknown_frames_are_refused_or_dropped_with_intersect(work):
    root, gt = work
    clips = [*gt.clip_ids, "300vw/008"]
    frames = [*gt.frame_indices, 99]  # a frame the test shards do not have
    _write_csv(root / "extra.csv", clips, frames, np.concatenate([gt.landmarks, gt.landmarks[:1]]))
    r = _run(root, "import", "csv", str(root / "extra.csv"), "-d", "300vw", "-m", "extra")
    assert r.exit_code != 0 and "1 frame(s) not in the 300vw test shards (e.g. 300vw/008#99)" in r.output
    r = _run(root, "import", "csv", str(root / "extra.csv"), "-d", "300vw", "-m", "extra", "--intersect")
    assert r.exit_code == 0 and "dropped 1 frame(s)" in r.output
    assert len(read_predictions(root / "predictions" / "extra" / "300vw.h5")) == len(gt)


def test_fhr_crop_convention_hand_computed():
    """FHR's test_300VW.m: point = x * (wid_crop / 256) + start_x in .pts coordinates, wid_crop = the pixels of
    im_(start:start+L) = floor(L) + 1 (MATLAB's colon), start unclamped also where the crop is padded."""
    gt = np.zeros((1, 68, 2))
    gt[0, :, 0] = np.linspace(0, 99, 68)  # 0-based box x 0..99, y 0..49 -> .pts 1..100, 1..50
    gt[0, :, 1] = np.linspace(0, 49, 68)
    # L = 1.3 * 99 = 128.7 -> the crop has 129 pixels; centre (50.5, 25.5); start = centre - 64.35 (< 1: padded)
    x = np.zeros((1, 68, 2))
    x[0, 1] = [256, 256]
    x[0, 2] = [128, 0]
    got = fhr_to_image(x, gt)
    np.testing.assert_allclose(got[0, 0], [-13.85 - 1, -38.85 - 1])
    np.testing.assert_allclose(got[0, 1], [-13.85 + 129 - 1, -38.85 + 129 - 1])
    np.testing.assert_allclose(got[0, 2], [-13.85 + 64.5 - 1, -38.85 - 1])
    # inside the image: .pts box 201..301 x 101..181 -> L = 130 (131 pixels), centre (251, 141), start (186, 76)
    gt[0, :, 0] = np.linspace(200, 300, 68)
    gt[0, :, 1] = np.linspace(100, 180, 68)
    x[0, 3] = [100, 10]
    got = fhr_to_image(x, gt)
    np.testing.assert_allclose(got[0, 1], [186 + 131 - 1, 76 + 131 - 1])
    np.testing.assert_allclose(got[0, 3], [186 + 100 * 131 / 256 - 1, 76 + 10 * 131 / 256 - 1])


def test_fhr_crop_pixels_follow_matlab_colon():
    from redbench.benchmark.importers import _colon_count

    # 1:1+L has floor(L) + 1 elements; a length a rounding below an integer counts as that integer
    np.testing.assert_array_equal(_colon_count(np.array([128.7, 130.0, 129.99999999999997, 0.5])),
                                  [129, 131, 131, 1])


def _fhr_files(folder: Path, gt, pred: np.ndarray) -> None:
    """FHR's layout: Scenario{1,2,3}/preds_300VWtest_float_68pts_<video>_300VW_128.mat, x in 256-unit crops,
    written as test_300VW.m reads them back (its inverse, written out here independently of the importer)."""
    from scipy.io import savemat

    for k, clip in enumerate(sorted(set(gt.clip_ids))):
        rows = np.flatnonzero(gt.clip_ids == clip)
        g1 = gt.landmarks[rows] + 1.0
        lo, hi = g1.min(1), g1.max(1)
        length = 1.3 * (hi - lo).max(1)
        start = (lo + hi) / 2 - length[:, None] / 2
        pixels = np.floor(length + 1e-9) + 1  # MATLAB: numel(a:a+length)
        x = (pred[rows] + 1.0 - start[:, None]) * (256.0 / pixels)[:, None, None]
        video = clip.split("/")[1]
        out = folder / f"Scenario{1 + k % 3}" / f"preds_300VWtest_float_68pts_{video}_300VW_128.mat"
        out.parent.mkdir(parents=True, exist_ok=True)
        savemat(out, {"x": x})  # MATLAB 5 format


def test_fhr_mat_files_map_back_to_image_coordinates(work):
    root, gt = work
    pred = _offset(gt)
    _fhr_files(root / "results_fhr", gt, pred)
    r = _run(root, "import", "fhr", str(root / "results_fhr"), "-d", "300vw", "-m", "fhr")
    assert r.exit_code == 0, r.output
    stored = read_predictions(root / "predictions" / "fhr" / "300vw.h5")
    assert len(stored) == len(gt)
    np.testing.assert_allclose(stored.landmarks, pred[gt_rows(gt, stored.clip_ids, stored.frame_indices)], atol=1e-9)
    prov = json.loads((root / "predictions" / "fhr" / "300vw.import.json").read_text())
    assert prov["conversion"]["units"] == 256.0 and prov["conversion"]["box_scale"] == 1.3


def test_fhr_file_with_the_wrong_number_of_rows_is_refused(work):
    from scipy.io import savemat

    root, gt = work
    clip = gt.clip_ids[0]
    n = int((gt.clip_ids == clip).sum())
    path = root / f"preds_300VWtest_float_68pts_{clip.split('/')[1]}_300VW_128.mat"
    savemat(path, {"x": np.zeros((n - 1, 68, 2))})
    r = _run(root, "import", "fhr", str(path), "-d", "300vw", "-m", "fhr")
    assert r.exit_code != 0 and path.name in r.output and f"{n - 1} rows" in r.output
    savemat(path, {"y": np.zeros((n, 68, 2))})
    r = _run(root, "import", "fhr", str(path), "-d", "300vw", "-m", "fhr")
    assert r.exit_code != 0 and "no array 'x'" in r.output


def test_names_of_redbench_methods_and_bad_names_are_refused(work):
    root, _ = work
    (root / "x.csv").write_text("")
    for name in ("sdm", "../up"):
        r = _run(root, "import", "csv", str(root / "x.csv"), "-d", "300vw", "-m", name)
        assert r.exit_code != 0 and "--method" in r.output
