"""Adding a method and a dataset touches the places docs/extending.md names, and no
others: in a copy of the code, a toy method (its module + one row of the methods table) and a toy dataset (its
reader and synthetic writer + one row of the datasets table) go through `redbench pipeline write`, fetch,
preprocess, train, predict and compare, run from that copy as the pipeline's stages run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"datasets": "datasets", "red": "red", "baselines": "baselines", "benchmark": "benchmark"}

TOY_METHOD = '''
"""A toy static method: the training landmarks' mean shape in box units, placed in each frame's box."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redbench.baselines.mean_shape import fit, place_in_box
from redbench.baselines.train_frames import iter_train_clips
from redbench.config import params_hash
from redbench.methods.protocol import StaticMethod, TrainInfo, train_data_hash

VERSION = "1"


@dataclass(frozen=True)
class Config:
    shrink: float = 1.0  # the shape is scaled by this about the box centre


class Toy(StaticMethod):
    name = "toy"

    def __init__(self, shape: np.ndarray, shrink: float) -> None:
        self.shape = (shape - 0.5) * shrink + 0.5

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return place_in_box(self.shape, boxes)


def train(cfg, train_dirs, out_dir, *, seed, val_fraction=0.2, resume=False, progress=False):
    clips = list(iter_train_clips(train_dirs, 200, seed, False, fields=("landmarks", "boxes/gt")))
    points = np.concatenate([c["landmarks"] for c in clips])
    np.save(Path(out_dir) / "shape.npy", fit(points, np.concatenate([c["boxes/gt"] for c in clips]), False))
    TrainInfo("toy", VERSION, params_hash(dataclasses.asdict(cfg)), train_data_hash(train_dirs), len(points),
              0.0, seed).write(out_dir)


def load(model_dir, cfg):
    return Toy(np.load(Path(model_dir) / "shape.npy"), cfg.shrink)
'''

TOY_DATASET = '''
"""A toy dataset: <clip>/<frame>.png with <frame>.pts (1-based points); clips train_* and test_*."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from redbench.datasets.mean_shape_3d import mean_shape_3d
from redbench.datasets.pts import write_pts, to_one_based
from redbench.datasets.raw import RawFrame, RawVideo, read_image_rgb, read_landmarks


def iter_videos(root: Path):
    for clip in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        files = sorted(clip.glob("*.pts"))
        split = "train" if clip.name.startswith("train") else "test"

        def frames(wanted=None, files=files):
            for i, pts in enumerate(files):
                if wanted is None or wanted(i):
                    yield RawFrame(read_image_rgb(pts.with_suffix(".png")), read_landmarks(pts), i, False)

        yield RawVideo("toy", f"toy/{clip.name}", clip.name, split, split, len(files), None, frames)


def write(root: Path, cfg, progress: bool) -> None:
    rng = np.random.default_rng(cfg.seed)
    face = mean_shape_3d()[:, :2] * 0.6
    for clip in ("train_0", "train_1", "train_2", "train_3", "test_0", "test_1"):
        (root / clip).mkdir(parents=True)
        for t in range(4):
            points = face + 128 + rng.normal(0, 3, 2)
            cv2.imwrite(str(root / clip / f"{t:03d}.png"), rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
            write_pts(root / clip / f"{t:03d}.pts", to_one_based(points))
'''


def _copy_code(dest: Path) -> Path:
    """The repository's code in `dest`, importable as `redbench` from it (the root folders linked into the
    package, as pyproject's package-dir maps them)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "redbench", dest / "redbench", ignore=ignore)
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore)
        (dest / "redbench" / folder).symlink_to(Path("..") / folder)
    for rel in ("params.yaml", "dvc.yaml", "reference/params.yaml", "reference/dvc.yaml"):
        (dest / rel).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / rel, dest / rel)
    return dest


def _insert(path: Path, marker: str, text: str) -> None:
    source = path.read_text()
    assert source.count(marker) == 1, f"{path}: {marker!r}"
    path.write_text(source.replace(marker, text + marker))


@pytest.mark.slow
def test_a_toy_method_and_a_toy_dataset_through_the_tables(tmp_path: Path) -> None:
    code = _copy_code(tmp_path / "code")
    # the method: its module and its row
    (code / "baselines" / "toy.py").write_text(TOY_METHOD)
    _insert(code / "redbench" / "methods" / "table.py", "    ]\n    # The default comparison smooths",
            '        MethodSpec("toy", "redbench.baselines.toy", False, True, shards, "a toy method"),\n')
    # the dataset: its reader and synthetic writer, and its row
    (code / "datasets" / "toyset.py").write_text(TOY_DATASET)
    _insert(code / "datasets" / "table.py", "    ]\n\n\ndef dataset_table()",
            '        DatasetSpec("toy", "Toy", "redbench.datasets.toyset", "<clip>/<frame>.png + .pts",\n'
            '                    {"train": ("train",), "test": ("test",)}, "redbench.datasets.toyset:write"),\n')
    env = {**os.environ, "PYTHONPATH": str(code), "DVC_NO_ANALYTICS": "1", "OMP_NUM_THREADS": "1"}

    def redbench(*args: str, cwd: Path = code) -> str:
        proc = subprocess.run([sys.executable, "-c", "import sys; from redbench.cli import main; sys.exit(main())",
                               "-q", *args], cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"redbench {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    assert "rewrote params.yaml, dvc.yaml, reference/dvc.yaml" in redbench("pipeline", "write")
    params = yaml.safe_load((code / "params.yaml").read_text())
    assert "toy" in params["methods"] and "toy" in params["fetch"] and "toy" in params["compare"]["datasets"]
    assert {"toy", "toy+smooth"} <= set(params["compare"]["methods"])
    stages = yaml.safe_load((code / "dvc.yaml").read_text())["stages"]
    assert stages["fetch"]["foreach"] == ["300vw", "300w", "tf", "toy"]
    assert "baselines/toy.py" in stages["train_toy"]["deps"]
    assert "baselines/toy.py" in stages["predict_toy"]["do"]["deps"]
    assert "datasets/toyset.py" in stages["fetch"]["do"]["deps"]
    assert "datasets/toyset.py" in stages["preprocess"]["do"]["deps"]
    assert "baselines/toy.py" not in stages["train_sdm"]["deps"]
    assert redbench("pipeline", "check").strip() == "every generated file is up to date"

    work = tmp_path / "work"  # a project folder: the toy data, trained on, predicted, compared
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump({
        "train": {"datasets": ["toy"]}, "compare": {"methods": ["toy", "mean_shape"], "datasets": ["toy"]}}))
    redbench("fetch", "toy", cwd=work)
    redbench("preprocess", "toy", cwd=work)
    for method in ("toy", "mean_shape"):
        redbench("train", method, cwd=work)
        redbench("predict", method, "toy", cwd=work)
    redbench("compare", "--no-plots", cwd=work)
    summary = yaml.safe_load((work / "results" / "summary.json").read_text())
    nme = {m: summary[f"real/toy/{m}/nme"] for m in ("toy", "mean_shape")}
    # the toy is the mean shape without its mirror symmetrisation: on faces this symmetric, the same error
    assert 0 < nme["toy"] < 0.5 and nme["toy"] == pytest.approx(nme["mean_shape"], rel=0.05)
