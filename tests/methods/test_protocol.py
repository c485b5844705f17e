"""StaticMethod: batching, tracking from the method's own predictions, and TrainInfo round trips."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.methods import Method, StaticMethod, TrainInfo, tracking_box
from redbench.datasets.geometry import landmark_box


class _Oracle(StaticMethod):
    """Returns the true landmarks of frame t shifted by `bias` px, and records the boxes it was given."""

    name = "oracle"
    batch_size = 4

    def __init__(self, truth: np.ndarray, bias: float = 0.0):
        self.truth, self.bias, self.seen, self.calls = truth, bias, [], 0

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.calls += 1
        idx = crops[:, 0, 0, 0].astype(int)  # each crop carries its frame index in pixel (0, 0)
        self.seen.append(boxes.copy())
        return self.truth[idx] + self.bias


def _clip(t: int = 10):
    rng = np.random.default_rng(0)
    truth = rng.uniform(10, 50, (t, 68, 2))
    crops = np.zeros((t, 64, 64, 3), np.uint8)
    crops[:, 0, 0, 0] = np.arange(t)
    return truth, crops


def test_batched_prediction_passes_every_box_and_keeps_order() -> None:
    truth, crops = _clip()
    boxes = landmark_box(truth) + 1.0
    m = _Oracle(truth)
    out = m.predict_clip(crops, boxes, tracking=False)
    np.testing.assert_array_equal(out, truth)
    assert m.calls == 3  # 10 frames in batches of 4
    np.testing.assert_array_equal(np.concatenate(m.seen), boxes)


def test_tracking_uses_frame0_box_then_own_previous_prediction() -> None:
    truth, crops = _clip()
    m = _Oracle(truth, bias=2.0)
    boxes = np.full((10, 4), np.nan)  # only boxes[0] may be read
    boxes[0] = [1, 2, 3, 4]
    out = m.predict_clip(crops, boxes, tracking=True)
    seen = np.concatenate(m.seen)
    np.testing.assert_array_equal(seen[0], [1, 2, 3, 4])
    np.testing.assert_allclose(seen[1:], landmark_box(truth[:-1] + 2.0))
    np.testing.assert_allclose(out, truth + 2.0)


def test_tracking_a_perfect_method_reproduces_gt_boxes_of_any_scale() -> None:
    from redbench.datasets.boxes import gt_boxes

    truth, crops = _clip()
    gt = np.stack([gt_boxes(p, 1.3) for p in truth])
    m = _Oracle(truth)
    m.predict_clip(crops, gt, tracking=True, gt_box_scale=1.3)
    seen = np.concatenate(m.seen)  # frame t's box: the gt rule on the output at t - 1
    np.testing.assert_allclose(seen[1:], gt[:-1])
    m = _Oracle(truth)
    m.predict_clip(crops, gt, tracking=True)  # the tight-box rule on shards made with 1.3 would not
    assert not np.allclose(np.concatenate(m.seen)[1:], gt[:-1])


def test_tracking_box_of_a_perfect_prediction_is_the_gt_box() -> None:
    pts = np.random.default_rng(1).uniform(0, 100, (68, 2))
    np.testing.assert_allclose(tracking_box(pts), [*pts.min(0), *pts.max(0)])


def test_static_methods_follow_the_protocol() -> None:
    truth, _ = _clip()
    assert isinstance(_Oracle(truth), Method)


def test_train_info_round_trip_and_errors(tmp_path) -> None:
    info = TrainInfo("sdm", "1", "abc", "def", 12, 3.5, seed=3, cost={"steps": 7})
    info.write(tmp_path)
    assert TrainInfo.read(tmp_path) == info
    with pytest.raises(FileNotFoundError, match="redbench train"):
        TrainInfo.read(tmp_path / "missing")
    (tmp_path / "train_info.json").write_text("{not json")
    with pytest.raises(ValueError, match="train_info.json"):
        TrainInfo.read(tmp_path)


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_tracking_keeps_the_box_when_an_output_has_no_area() -> None:
    from redbench.methods import track

    seen = []
    outputs = {0: np.full((68, 2), 5.0),  # collapsed to a point: box (5, 5, 5, 5)
               1: np.full((68, 2), np.nan)}  # not finite

    def step(t: int, box: np.ndarray) -> np.ndarray:
        seen.append(box.copy())
        return outputs.get(t, np.stack([np.linspace(10, 20, 68), np.linspace(30, 50, 68)], -1))

    track(step, np.array([[1.0, 2.0, 3.0, 4.0]] + [[np.nan] * 4] * 3), tracking=True)
    np.testing.assert_array_equal(seen, [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [10, 30, 20, 50]])


class _Drifting(StaticMethod):
    """Output depends on the crop and on the box it was given (so tracking feeds back): the true landmarks of
    the crop's frame, pulled 10 % towards the box's centre."""

    name = "drifting"
    batch_size = 3

    def __init__(self, truth: np.ndarray):
        self.truth, self.calls = truth, 0

    def predict(self, crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.calls += 1
        idx = crops[:, 0, 0, 0].astype(int) + 256 * crops[:, 0, 0, 1].astype(int)
        centre = (boxes[:, None, :2] + boxes[:, None, 2:]) / 2
        return 0.9 * self.truth[idx] + 0.1 * centre


def test_batched_tracking_of_many_clips_equals_the_clip_by_clip_loop() -> None:
    rng = np.random.default_rng(3)
    lengths = [7, 3, 9, 1, 5]
    truth = rng.uniform(10, 50, (sum(lengths), 68, 2))
    crops = np.zeros((sum(lengths), 8, 8, 3), np.uint8)
    crops[:, 0, 0, 0], crops[:, 0, 0, 1] = np.arange(sum(lengths)) % 256, np.arange(sum(lengths)) // 256
    clips = np.split(crops, np.cumsum(lengths)[:-1])
    first = rng.uniform(5, 40, (len(lengths), 4))
    first[:, 2:] += 20
    one_by_one = _Drifting(truth)
    want = [one_by_one.predict_clip(c, np.tile(b, (len(c), 1)), tracking=True, gt_box_scale=1.2)
            for c, b in zip(clips, first)]
    batched = _Drifting(truth)
    got = batched.track_clips(clips, first, gt_box_scale=1.2)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # the same values, bit for bit
    assert one_by_one.calls == sum(lengths)  # one call per frame
    # one batch of at most 3 per frame index: 5 clips run at t = 0, 4 at t = 1, 2, 3 at t = 3, 4, then 2, 2, 1, 1
    assert batched.calls == 2 + 2 + 2 + 1 + 1 + 1 + 1 + 1 + 1
