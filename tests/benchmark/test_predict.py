"""The predict driver: every test frame once, original coordinates, box protocols, provenance in the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redbench.methods.protocol import StaticMethod
from redbench.benchmark.predict import PredictConfig, Provenance, clip_boxes, run_method
from redbench.benchmark.store import read_predictions
from redbench.datasets.geometry import landmark_box

PROV = Provenance("7", "cfg123", "train456")


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    from redbench.datasets.fake import make_fake_shards

    root = tmp_path_factory.mktemp("shards") / "300vw"
    make_fake_shards(root, n_clips=6, n_frames=5, crop_size=48, seed=1)
    return root


class _BoxCorners(StaticMethod):
    """Puts point k at the box's top-left corner + k px along x: predictions reveal the boxes it was given."""

    name = "corners"

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        out = np.zeros((len(boxes), 68, 2))
        out[:, :, 0] = boxes[:, None, 0] + np.arange(68) * 0.1
        out[:, :, 1] = boxes[:, None, 1]
        out[:, 67] = boxes[:, 2:]  # and the bottom-right corner, so tracking reproduces the box
        return out


def _truth(shards: Path, field: str) -> dict[tuple[str, int], np.ndarray]:
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards)
    out = {}
    for e in m.entries("test"):
        with m.open(e) as r:
            for i, rec in enumerate(r.clips):
                c = r.read_clip(i)
                for t in range(len(c)):
                    out[(rec.clip_id, int(c.frame_index[t]))] = (c.field(field)[t], c.crop_to_orig[t])
    return out


@pytest.mark.parametrize("protocol", ["gt", "gt_jitter", "detector"])
def test_every_test_frame_in_original_coordinates(shards, tmp_path, protocol: str) -> None:
    meta = run_method(_BoxCorners(), shards, protocol, tmp_path / "p.h5", PROV)
    pred = read_predictions(tmp_path / "p.h5")
    truth = _truth(shards, f"boxes/{protocol}")
    assert sorted(pred.keys()) == sorted(truth)  # each test frame exactly once
    for key, lm in zip(pred.keys(), pred.landmarks):
        box, A = truth[key]
        corner = A[:, :2] @ box[:2] + A[:, 2]  # the box corner mapped crop -> original by hand
        np.testing.assert_allclose(lm[0], corner, atol=1e-4)
    from redbench.datasets.shards import load_manifest

    m = load_manifest(shards)
    assert pred.meta == meta
    assert (meta.method, meta.method_version, meta.config_hash, meta.train_data_hash) == ("corners", "7", "cfg123",
                                                                                            "train456")
    assert (meta.box_protocol, meta.dataset, meta.data_source) == (protocol, "300vw", "synthetic")
    assert meta.test_manifest_hash == m.sha256 and meta.seconds_per_frame > 0


def test_tracking_starts_from_the_gt_box_then_follows_predictions(shards, tmp_path) -> None:
    run_method(_BoxCorners(), shards, "tracking", tmp_path / "t.h5", PROV)
    pred = read_predictions(tmp_path / "t.h5")
    truth = _truth(shards, "boxes/gt")
    for key, lm in zip(pred.keys(), pred.landmarks):
        clip_id, f = key
        box0, A = truth[(clip_id, 0)]
        corner = A[:, :2] @ box0[:2] + A[:, 2]
        # The method's box of frame t is the tight box of its frame t-1 output: the corner never moves.
        np.testing.assert_allclose(lm[0], corner, atol=1e-3)


def test_clip_boxes_and_unknown_protocol() -> None:
    arrays = {f"boxes/{b}": np.full((3, 4), i, np.float32) for i, b in enumerate(("gt", "gt_jitter", "detector"))}
    boxes, tracking = clip_boxes(arrays, "tracking")
    assert tracking and np.all(boxes == 0)
    boxes, tracking = clip_boxes(arrays, "detector")
    assert not tracking and np.all(boxes == 2)
    with pytest.raises(ValueError, match="unknown box protocol"):
        clip_boxes(arrays, "oracle")
    with pytest.raises(ValueError, match="box_protocol"):
        PredictConfig(box_protocol="oracle")


def test_wrong_output_shape_is_an_error(shards, tmp_path) -> None:
    class Bad(StaticMethod):
        name = "bad"

        def predict(self, crops, boxes):
            return np.zeros((len(boxes), 5, 2))

    with pytest.raises(ValueError, match="expected"):
        run_method(Bad(), shards, "gt", tmp_path / "b.h5", PROV)
    assert not (tmp_path / "b.h5").exists()


def test_tracking_box_helper_matches_landmark_box() -> None:
    pts = np.random.default_rng(0).random((68, 2)) * 50
    from redbench.methods.tracking import tracking_box

    np.testing.assert_allclose(tracking_box(pts), landmark_box(pts))


def test_tracking_gets_the_shards_gt_box_rule(shards, tmp_path) -> None:
    """The predict driver hands every method the manifest's preprocess.boxes.gt_box_scale."""
    import json
    import shutil

    copy = tmp_path / "300vw"
    shutil.copytree(shards, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["preprocess"] = {"config": {"boxes": {"gt_box_scale": 1.3}}}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    seen = []

    class Recorder(_BoxCorners):
        def track_clips(self, clips, first_boxes, *, gt_box_scale=1.0):
            seen.append(gt_box_scale)
            return super().track_clips(clips, first_boxes, gt_box_scale=gt_box_scale)

    run_method(Recorder(), copy, "tracking", tmp_path / "t.h5", PROV)
    run_method(Recorder(), shards, "tracking", tmp_path / "u.h5", PROV)
    assert seen == [1.3, 1.0]  # one call for all the test clips of each shard set
    assert len(read_predictions(tmp_path / "t.h5")) == 10  # both test clips, 5 frames each


class _ClipByClip:
    """A method without track_clips: the driver runs it one clip at a time."""

    def __init__(self, base: StaticMethod):
        self.base, self.name, self.temporal = base, base.name, base.temporal

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        return self.base.predict_clip(crops, boxes, tracking, gt_box_scale=gt_box_scale)


class _CropAndBox(StaticMethod):
    """Output from the crop's pixels and the box: tracking feeds each output into the next frame's box."""

    name = "crop_and_box"

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (N, 2)
        level = crops.reshape(len(crops), -1)[:, :68].astype(np.float64) / 64.0  # (N, 68)
        spread = np.stack([np.cos(np.arange(68)), np.sin(np.arange(68))], 1) * 6.0  # (68, 2)
        return centre[:, None] + spread + level[..., None]


def test_batched_tracking_writes_the_file_of_the_clip_by_clip_loop(shards, tmp_path) -> None:
    run_method(_CropAndBox(), shards, "tracking", tmp_path / "batched.h5", PROV)
    run_method(_ClipByClip(_CropAndBox()), shards, "tracking", tmp_path / "loop.h5", PROV)
    a, b = read_predictions(tmp_path / "batched.h5"), read_predictions(tmp_path / "loop.h5")
    assert a.keys() == b.keys()
    np.testing.assert_array_equal(a.landmarks, b.landmarks)  # bit for bit
    drift = a.landmarks[1:] - a.landmarks[:-1]
    assert np.abs(drift).max() > 0.1  # the boxes did follow the outputs
