"""Every method of the table trains (where trainable) and predicts on tiny shards through the one factory,
and `train` swaps a complete model folder in only at the end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redbench import methods
from redbench.methods import TrainInfo, method_table
from redbench.methods.factory import staging_dir

RED = {"input_size": 32, "train": {"epochs": 1, "passes_per_epoch": 1, "batch_clips": 2, "checkpoint_every": 0,
                                   "val_frames_per_clip": 2, "threads": 1}}
LOOP = {"epochs": 1, "batch_size": 16, "threads": 1}
# small enough that every method trains in seconds on 2 cores
PARAMS = {
    "train": {"datasets": ["300vw"], "val_fraction": 0.25, "seed": 3},
    "methods": {
        "mean_shape": {"max_frames": 100},
        "sdm": {"size": 48, "stages": 1, "perturbations": 1, "max_frames": 40},
        "ert": {"size": 64, "cascade_depth": 2, "num_trees_per_cascade_level": 5, "oversampling_amount": 1,
                "max_frames": 20, "num_threads": 1},
        "cnn_regression": {"size": 32, "widths": [8, 8, 8, 8], "max_frames": 40, "loop": LOOP},
        "heatmap": {"size": 32, "width": 8, "max_frames": 40, "loop": LOOP},
        "red": RED,
        "red_static": {**RED, "variant": "static"},
    },
    "smoothing": {"filter": "one_euro"},
}


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("factory") / "shards"
    make_fake_shards(root / "300vw", n_clips=6, n_frames=5, crop_size=64, n_identities=4, seed=5)
    return root


@pytest.fixture(scope="module")
def models(shards) -> Path:
    """Every trainable method trained once, through the factory."""
    out = shards.parent / "models"
    for name, spec in method_table().items():
        if spec.trainable:
            methods.train(name, PARAMS, out / name, shards)
    return out


def _test_clip(shards: Path):
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards / "300vw")
    with m.open(m.entries("test")[0]) as r:
        return r.read_clip(0), m.sha256


@pytest.mark.parametrize("name", list(method_table()))
def test_every_method_trains_and_predicts_through_the_factory(name: str, shards: Path, models: Path) -> None:
    spec = method_table()[name]
    clip, manifest_sha = _test_clip(shards)
    base = spec.smooth_of or name
    if method_table()[base].trainable:
        info = TrainInfo.read(models / base)
        assert info.method == base and info.seed == 3 and info.n_frames > 0
        assert not staging_dir(models / base).exists()  # swapped in whole
    method = methods.create(name, PARAMS, models)
    assert method.name == name and method.temporal == spec.temporal
    for tracking in (False, True):
        pred = method.predict_clip(clip.crops, clip.boxes["gt"], tracking)
        assert pred.shape == (len(clip.crops), 68, 2) and np.isfinite(pred).all()
        assert (np.abs(pred.mean(1) - clip.landmarks.mean(1)) < 32).all()  # on the 64 px crop, near the face
    prov = methods.provenance(name, PARAMS, models)
    if method_table()[base].trainable:
        assert prov.train_data_hash == manifest_sha
    if spec.smooth_of is not None:
        assert prov.method_version.endswith("+smooth1")
        assert prov.train_data_hash == methods.provenance(base, PARAMS, models).train_data_hash


def test_smoothed_rows_wrap_their_static_method(models: Path) -> None:
    m = methods.create("sdm+smooth", PARAMS, models)
    assert m.base.name == "sdm" and m.cfg.filter == "one_euro"


@pytest.mark.parametrize("name, message", [
    ("nope", "unknown method"), ("ert_pretrained", "pretrained"), ("sdm+smooth", "train sdm instead")])
def test_what_cannot_be_trained(name: str, message: str, tmp_path: Path) -> None:
    with pytest.raises((KeyError, ValueError), match=message):
        methods.train(name, PARAMS, tmp_path / "m", tmp_path)


def test_resume_keeps_a_finished_model_only_when_nothing_differs(shards: Path, tmp_path: Path,
                                                                  monkeypatch) -> None:
    """`resume` reuses a finished model of the same version, params, seed and data; anything else retrains
    (from the start, for a method without a checkpoint)."""
    from redbench.baselines import mean_shape

    out = tmp_path / "mean_shape"
    first = methods.train("mean_shape", PARAMS, out, shards, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    real = mean_shape.train

    def record(cfg, dirs, out_dir, **kw):
        calls.append((cfg.max_frames, kw["seed"], kw["resume"]))
        return real(cfg, dirs, out_dir, **kw)

    monkeypatch.setattr(mean_shape, "train", record)
    assert methods.train("mean_shape", PARAMS, out, shards, seed=1, resume=True) == first
    assert calls == [] and {p.name: p.read_bytes() for p in out.iterdir()} == before
    methods.train("mean_shape", PARAMS, out, shards, seed=2, resume=True)
    other = {**PARAMS, "methods": {**PARAMS["methods"], "mean_shape": {"max_frames": 50}}}
    info = methods.train("mean_shape", other, out, shards, seed=2, resume=True)
    assert calls == [(100, 2, False), (50, 2, False)] and info.seed == 2 and info.config_hash != first.config_hash


def test_a_failed_train_leaves_the_previous_model(shards: Path, tmp_path: Path, monkeypatch) -> None:
    from redbench.baselines import mean_shape

    out = tmp_path / "mean_shape"
    methods.train("mean_shape", PARAMS, out, shards, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(cfg, dirs, out_dir, **kw):
        (Path(out_dir) / "half.npz").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(mean_shape, "train", killed)
    with pytest.raises(KeyboardInterrupt):
        methods.train("mean_shape", PARAMS, out, shards, seed=2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old folder, whole
    assert (staging_dir(out) / "half.npz").exists()  # the interrupted run's files, for a resume
    monkeypatch.undo()
    info = methods.train("mean_shape", PARAMS, out, shards, seed=2)  # without resume: starts clean
    assert info.seed == 2 and not (out / "half.npz").exists() and not staging_dir(out).exists()


def test_resume_continues_in_the_staging_folder(shards: Path, tmp_path: Path, monkeypatch) -> None:
    """An interrupted RED run's checkpoint stays in <out>.partial/ and the resumed run starts from it."""
    import redbench.red.method_train as red_method

    seen = []
    real = red_method.train

    def record(cfg, dirs, out_dir, **kw):
        seen.append((Path(out_dir), sorted(p.name for p in Path(out_dir).iterdir()), kw["resume"]))
        return real(cfg, dirs, out_dir, **kw)

    out = tmp_path / "red_static"
    staging_dir(out).mkdir(parents=True)
    (staging_dir(out) / "marker").write_text("from the interrupted run")
    monkeypatch.setattr(red_method, "train", record)
    methods.train("red_static", PARAMS, out, shards, resume=True)
    assert seen == [(staging_dir(out), ["marker"], True)]
    assert (out / "model.pt").exists() and (out / "marker").exists() and not staging_dir(out).exists()


def test_resume_continues_a_model_stopped_before_the_convergence_condition(shards: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """A finished RED model whose stop rule lacked the convergence condition the params now add goes on from
    its checkpoint; a finished model of other params is trained again from nothing."""
    import copy
    import csv

    import redbench.red.method_train as red_method

    seen = []
    real = red_method.train

    def record(cfg, dirs, out_dir, **kw):
        seen.append(sorted(p.name for p in Path(out_dir).iterdir()))
        return real(cfg, dirs, out_dir, **kw)

    def params(**stop):
        p = copy.deepcopy(PARAMS)
        p["methods"]["red_static"]["train"].update(epochs=4, stop={"patience": 1, "min_delta": 0.99,
                                                                   "lr_decays": 0, **stop})
        return p

    def epochs(out: Path) -> int:
        return len(list(csv.DictReader((out / "train_log.csv").open())))

    import torch

    import redbench.red.train as red_train

    falling = iter([0.5, 0.49, 0.48, 0.47] + [0.4] * 4)  # validation NME by epoch: always a little better
    monkeypatch.setattr(red_train, "validate", lambda *a: torch.tensor([next(falling)]))
    out = tmp_path / "red_static"
    monkeypatch.setattr(red_method, "train", record)
    methods.train("red_static", params(), out, shards, resume=True)
    assert epochs(out) == 2  # improved, then the plateau stop (0.49 is within min_delta 0.99 of 0.5)
    methods.train("red_static", params(tail=0.2, tail_delta=0.0), out, shards, resume=True)
    assert "checkpoint.pt" in seen[-1] and epochs(out) == 4  # the tail never stops improving: to the cap
    other = params(tail=0.2, tail_delta=0.0)
    other["methods"]["red_static"]["train"]["lr"] = 1e-3
    methods.train("red_static", other, out, shards, resume=True)
    assert seen[-1] == [] and epochs(out) > 0
