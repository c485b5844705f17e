"""The `red` / `red_static` method module: train on fake shards, load, predict clips in crop coordinates."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from redbench.methods.protocol import Method
from redbench.config import from_dict
from redbench.datasets.fake import make_fake_shards
from redbench.datasets.shards import ShardReader
from redbench.red.method import Config, load, method_name
from redbench.red.method_train import train
from redbench.red.model import RED
from redbench.red.train import TrainConfig

FAST = TrainConfig(epochs=1, passes_per_epoch=1, batch_clips=2, checkpoint_every=0, val_frames_per_clip=3)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    make_fake_shards(root, n_clips=7, n_frames=6, crop_size=96, n_identities=5, seed=1)
    return root


@pytest.fixture(scope="module")
def trained(shards, tmp_path_factory):
    out = {}
    for variant in ("full", "static"):
        cfg = Config(preset="tiny", input_size=32, variant=variant, train=FAST)
        model_dir = tmp_path_factory.mktemp(variant)
        train(cfg, shards, model_dir, seed=0)
        out[variant] = (cfg, model_dir)
    return out


def _test_clip(shards):
    from redbench.datasets.shards import load_manifest

    with ShardReader(load_manifest(shards).paths("test")[0]) as r:
        return r.read_clip(0)


@pytest.mark.parametrize("variant", ["full", "static"])
def test_train_load_predict(trained, shards, variant):
    cfg, model_dir = trained[variant]
    assert {"model.pt", "checkpoint.pt", "train_log.csv", "metrics.json", "train_info.json"} <= \
        {p.name for p in model_dir.iterdir()}
    info = json.loads((model_dir / "train_info.json").read_text())
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert info["cost"] == metrics["cost"] and info["n_frames"] == metrics["cost"]["frames_seen"] > 0
    method = load(model_dir, cfg)
    assert isinstance(method, Method)
    assert method.name == method_name(variant) and method.temporal == (variant == "full")
    clip = _test_clip(shards)
    for tracking in (False, True):
        pred = method.predict_clip(clip.crops, clip.boxes["gt"], tracking)
        assert pred.shape == (len(clip.crops), 68, 2) and pred.dtype == np.float64 and np.isfinite(pred).all()
        # predictions land on the face, in context-crop pixels (the face box spans ~45% of the 96 px crop)
        centre = clip.landmarks.mean(1)
        assert np.abs(pred.mean(1) - centre).max() < 20


def test_static_batch_path_equals_frame_by_frame(trained, shards):
    cfg, model_dir = trained["static"]
    method = load(model_dir, cfg)
    clip = _test_clip(shards)
    batched = method.predict_clip(clip.crops, clip.boxes["gt"], tracking=False)
    method.temporal = True  # force the online loop, which a static model runs frame by frame
    online = method.predict_clip(clip.crops, clip.boxes["gt"], tracking=False)
    assert np.allclose(batched, online, atol=1e-3)


@pytest.mark.parametrize("frame_feedback", [False, True])
def test_clip_chunks_equal_frame_by_frame_steps(trained, shards, frame_feedback):
    """run_clip's batched chunks carry the LSTM state and C_id's running mean as single steps do; a model fed
    its previous output (frame_feedback) is stepped frame by frame whatever the chunk."""
    from redbench.datasets.input_crop import square_crop
    from redbench.red.infer import OnlineRED

    cfg, model_dir = trained["full"]
    model = load(model_dir, cfg).model
    if frame_feedback:
        model.cfg = dataclasses.replace(model.cfg, frame_feedback=True)
    clip = _test_clip(shards)
    images, affines = square_crop(clip.crops, clip.boxes["gt"], cfg.box_scale, model.cfg.input_size)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    runner = OnlineRED(model, torch.device("cpu"))
    assert runner.needs_steps == frame_feedback
    stepped = np.stack([runner.step(x[t], affines[t]) for t in range(len(x))])
    for chunk in (1, 4, len(x)):
        runner.reset()
        assert np.allclose(runner.run_clip(x, affines, chunk=chunk), stepped, atol=1e-4), chunk
    runner.reset()
    later = runner.run_clip(x[3:], affines[3:])
    assert not np.allclose(later[0], stepped[3], atol=1e-4)  # the state of frames 0-2 matters: it is carried


def test_box_mode_follows_the_given_box(trained, shards):
    """Shifting a frame's crop and box together shifts its prediction by the same amount (static model)."""
    cfg, model_dir = trained["static"]
    method = load(model_dir, cfg)
    clip = _test_clip(shards)
    crops, boxes = clip.crops[:1], clip.boxes["gt"][:1].astype(np.float64)
    shifted = np.zeros_like(crops)
    shifted[:, 8:, 4:] = crops[:, :-8, :-4]
    a = method.predict_clip(crops, boxes, tracking=False)
    b = method.predict_clip(shifted, boxes + [4, 8, 4, 8], tracking=False)
    assert np.allclose(b - a, [4, 8], atol=0.05)


def test_load_errors_name_the_file(trained, tmp_path):
    cfg, model_dir = trained["full"]
    with pytest.raises(FileNotFoundError, match="model.pt"):
        load(tmp_path, cfg)
    with pytest.raises(ValueError, match="variant"):
        load(model_dir, dataclasses.replace(cfg, variant="static"))
    (tmp_path / "model.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable RED model"):
        load(tmp_path, cfg)


def test_config_from_params_section():
    cfg = from_dict(Config, {"variant": "static", "train": {"epochs": 2, "loss": {"coords": 5.0}}}, "methods.red")
    assert cfg.train.epochs == 2 and cfg.train.loss.coords == 5.0 and cfg.model_config().temporal is False


def test_default_norm_evaluates_as_it_trains():
    """The default (group norm) has no running statistics: eval mode gives the training-mode output, so the
    sRNN passes' differing inputs cannot skew evaluation. Batch norm, fed the same batch, does differ."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 3, 32, 32)
    outs = {}
    for norm in (Config().norm, "batch"):
        model = RED(Config(input_size=32, norm=norm).model_config(n_identities=2))
        torch.nn.init.normal_(model.reg.fc.weight, std=0.1)  # else f_REG outputs the mean shape in both modes
        with torch.no_grad():
            trained_mode = model.train()(x).landmarks
            eval_mode = model.eval()(x).landmarks
        outs[norm] = (trained_mode - eval_mode).abs().max().item()
    assert Config().norm == "group"
    assert outs["group"] < 1e-5 and outs["batch"] > 1e-3


def test_validation_identities_do_not_depend_on_the_training_seed(shards, tmp_path, caplog):
    import logging
    import re

    caplog.set_level(logging.INFO, logger="redbench.red.method_train")
    cfg = Config(preset="tiny", input_size=32, variant="static", train=FAST)
    held_out = []
    for seed in (0, 3):
        caplog.clear()
        train(cfg, shards, tmp_path / str(seed), seed=seed, val_fraction=0.4)
        held_out.append(re.search(r"validation: 2 clips of 2 identities \((.*)\)", caplog.text).group(1))
    assert held_out[0] == held_out[1] and held_out[0].count("300vw/id") == 2


def _test_clips(shards, lengths):
    """Every test clip of the fake shards, cut to `lengths` frames (cycled): clips that end at different frames."""
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards)
    clips = []
    for path in m.paths("test"):
        with ShardReader(path) as r:
            clips += [r.read_clip(i) for i in range(len(r.clips))]
    return [(c.crops[:n], c.boxes["gt"][:n]) for c, n in zip(clips, np.resize(lengths, len(clips)))]


@pytest.mark.parametrize("variant, frame_feedback", [("full", False), ("full", True), ("static", False)])
def test_batched_tracking_equals_the_clip_by_clip_loop(trained, shards, variant, frame_feedback):
    """track_clips (frame t of every clip in one forward, each clip its own LSTM state, C_id sum and previous
    output) gives what predict_clip(tracking=True) gives clip by clip, to float rounding."""
    cfg, model_dir = trained[variant]
    method = load(model_dir, cfg)
    if frame_feedback:
        method.model.cfg = dataclasses.replace(method.model.cfg, frame_feedback=True)
    clips = _test_clips(shards, [6, 3, 5, 1])
    assert len(clips) >= 2
    want = [method.predict_clip(crops, boxes, tracking=True, gt_box_scale=1.1) for crops, boxes in clips]
    got = method.track_clips([c for c, _ in clips], np.stack([b[0] for _, b in clips]), gt_box_scale=1.1)
    for g, w, (crops, _) in zip(got, want, clips):
        assert g.shape == (len(crops), 68, 2)
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-4)  # pixels of the context crop


def test_batched_tracking_of_a_smoothed_static_method(trained, shards):
    from redbench.baselines.smoothing import Config as SmoothConfig, wrap

    cfg, model_dir = trained["static"]
    method = wrap(load(model_dir, cfg), SmoothConfig())
    clips = _test_clips(shards, [6, 2])
    want = [method.predict_clip(crops, boxes, tracking=True) for crops, boxes in clips]
    got = method.track_clips([c for c, _ in clips], np.stack([b[0] for _, b in clips]))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-4)
