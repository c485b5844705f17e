"""`redbench real-faces` (redbench.benchmark.real_faces): the photograph -> crop -> prediction -> photograph
path, scored by hand, and the command's table and errors."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from redbench.benchmark import real_faces
from redbench.datasets.pts import to_one_based, write_pts
from redbench.datasets.preprocess import PreprocessConfig


class BoxShape:
    """A fake method: a fixed shape in box-relative coordinates [0, 1]^2, whatever the pixels."""

    name, temporal = "box_shape", False

    def __init__(self, unit: np.ndarray):
        self.unit = unit

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        x0, y0, x1, y1 = (boxes[:, k, None] for k in range(4))
        return np.stack([x0 + self.unit[:, 0] * (x1 - x0), y0 + self.unit[:, 1] * (y1 - y0)], axis=-1)


def _photo(folder: Path, name: str, points: np.ndarray, size=(240, 320)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(name))
    cv2.imwrite(str(folder / f"{name}.png"), rng.integers(0, 255, (*size, 3), dtype=np.uint8))
    write_pts(folder / f"{name}.pts", to_one_based(points))


def _face(rng, centre, scale) -> np.ndarray:
    pts = rng.uniform(-1, 1, (68, 2)) * scale + centre
    pts[36], pts[45] = centre + [-0.8 * scale, -0.3 * scale], centre + [0.8 * scale, -0.3 * scale]
    return pts


def test_a_prediction_maps_back_to_the_photograph_and_is_scored_by_hand(tmp_path):
    rng = np.random.default_rng(0)
    a, b = _face(rng, np.array([150.0, 110.0]), 40.0), _face(rng, np.array([100.0, 130.0]), 25.0)
    _photo(tmp_path / "set", "a", a)
    _photo(tmp_path / "set", "b", b)
    faces = real_faces.read_faces(tmp_path)
    assert [f.name for f in faces] == ["set/a", "set/b"]
    np.testing.assert_allclose(faces[0].landmarks, a, atol=1e-3)  # the .pts file's 1-based points, read 0-based
    unit = rng.uniform(0, 1, (68, 2))
    result = real_faces.score(faces, {"box_shape": BoxShape(unit)}, PreprocessConfig())
    for face, got in zip((a, b), result["nme"]["box_shape"]):
        lo, hi = face.min(0), face.max(0)  # the gt box (scale 1) is the tight landmark box, in any coordinates
        pred = lo + unit * (hi - lo)
        want = np.linalg.norm(pred - face, axis=1).mean() / np.linalg.norm(face[36] - face[45])
        assert got == pytest.approx(want, rel=1e-3)
    assert result["mean"]["box_shape"] == pytest.approx(np.mean(result["nme"]["box_shape"]))
    table = real_faces.to_markdown(result, "set")
    assert "| box_shape | " in table and "2 real photographs (set), `gt` boxes, the stored face 64 px" in table


def test_bad_folders_are_named(tmp_path):
    with pytest.raises(real_faces.RealFacesError, match="no <folder>/<name>.pts files"):
        real_faces.read_faces(tmp_path)
    (tmp_path / "s").mkdir()
    write_pts(tmp_path / "s" / "x.pts", np.ones((68, 2)))
    with pytest.raises(real_faces.RealFacesError, match=r"x.pts: no .png or .jpg beside it"):
        real_faces.read_faces(tmp_path)
    (tmp_path / "s" / "x.png").write_bytes(b"not an image")
    with pytest.raises(real_faces.RealFacesError, match=r"x.png: not a readable image"):
        real_faces.read_faces(tmp_path)


def test_the_command_writes_the_json_and_the_readme_block(tmp_path, track_models):
    """mean_shape from a tiny trained model folder on two made-up photographs; the README block is rewritten."""
    from redbench.cli import main

    rng = np.random.default_rng(1)
    _photo(tmp_path / "photos" / "set", "a", _face(rng, np.array([150.0, 110.0]), 40.0))
    doc = tmp_path / "doc.md"
    doc.write_text("x\n<!-- reference:real_faces -->\nold\n<!-- /reference:real_faces -->\n")
    out = tmp_path / "rf.json"
    result = CliRunner().invoke(main, ["real-faces", str(tmp_path / "photos"), "-m", "mean_shape", "--models-dir",
                                       str(track_models), "--out", str(out), "--into", str(doc)])
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text())
    assert got["faces"] == ["set/a"] and 0 < got["mean"]["mean_shape"] < 1
    assert "old" not in doc.read_text() and "| mean_shape |" in doc.read_text()
    bad = CliRunner().invoke(main, ["real-faces", str(tmp_path / "photos"), "-m", "nope"])
    assert bad.exit_code == 1 and "nope" in bad.output


def test_the_readme_table_is_the_committed_measurement():
    repo = Path(__file__).resolve().parents[2]
    from redbench.benchmark.reference_report import rewrite_blocks

    result = real_faces.read_result(repo / "docs" / "real_faces.json")
    readme = repo / "README.md"
    assert rewrite_blocks(readme, {"real_faces": real_faces.to_markdown(result, "real_faces")}) == readme.read_text()
    assert len(result["faces"]) == 15 and result["mean"]["ert_pretrained"] < 0.05 < result["mean"]["sdm"]
