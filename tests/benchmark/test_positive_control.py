"""The positive control: clips where time helps, and oracles that show how much."""

import numpy as np
import pytest

from redbench.benchmark.positive_control import ControlConfig, make_clip, oracle, run_control

S = 48
BOX = np.array([12.0, 12.0, 36.0, 36.0])


def _face():
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 100, (S, S, 3)).astype(np.uint8)
    crop[14:34, 14:34] = 220  # a bright "face" in the box
    landmarks = np.stack(np.meshgrid(np.linspace(15, 33, 17), np.linspace(15, 33, 4)), -1).reshape(-1, 2)[:68]
    return crop, BOX, landmarks


class SeesFace:
    """A static toy method: the truth where the face is visible (bright box centre), else a shape 5 px off."""

    name, temporal = "sees_face", False

    def __init__(self, truth):
        self.truth = truth

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        visible = crops[:, 24, 24].astype(float).mean(-1) > 170  # (T,)
        return np.where(visible[:, None, None], self.truth, self.truth + 5.0).astype(np.float64)


class NoiseSensitive(SeesFace):
    """Error proportional to the pixel noise inside the face box (a static method hurt by noise)."""

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        sd = crops[:, 16:32, 16:32].astype(float).std(axis=(1, 2, 3))  # (T,)
        return self.truth + 0.1 * sd[:, None, None]


class Remembers(SeesFace):
    """A temporal toy method: holds its last prediction made on a visible face."""

    temporal = True

    def predict_clip(self, crops, boxes, tracking, *, gt_box_scale=1.0):
        pred = super().predict_clip(crops, boxes, tracking)
        visible = crops[:, 24, 24].astype(float).mean(-1) > 170
        for t in range(1, len(pred)):
            if not visible[t]:
                pred[t] = pred[t - 1]
        return pred


def test_still_occluded_clip_covers_the_face_from_the_given_frame():
    crop, box, lm = _face()
    cfg = ControlConfig(frames=12, occlude_from=5)
    clip = make_clip(crop, box, lm, "still_occluded", cfg, np.random.default_rng(0))
    assert clip.crops.shape == (12, S, S, 3) and clip.scored.tolist() == [False] * 5 + [True] * 7
    assert (clip.crops[5:, 12:36, 12:36] == 128).all()  # box grown by 15 % of 24 px = 3.6 -> floor/ceil
    assert np.abs(clip.crops[:5].astype(int) - crop).max() <= 12  # light noise only before
    assert (clip.landmarks == lm).all() and (clip.boxes == box).all()


def test_a_method_that_remembers_reaches_the_oracle_and_a_static_one_does_not():
    crop, box, lm = _face()
    sees = SeesFace(lm)
    res = run_control({"static": sees, "temporal": Remembers(lm)}, sees, [(crop, box, lm)], "still_occluded",
                      ControlConfig(frames=12, occlude_from=5))
    inter_ocular = np.linalg.norm(lm[36] - lm[45])
    assert res["oracle"] == 0.0 and res["temporal"] == 0.0
    assert res["static"] == pytest.approx(np.hypot(5, 5) / inter_ocular)


def test_the_noise_oracle_averages_the_noise_out():
    crop, box, lm = _face()
    m = NoiseSensitive(lm)
    cfg = ControlConfig(frames=40, settle=10, heavy_noise=60.0)
    res = run_control({"static": m}, m, [(crop, box, lm)], "still_noisy", cfg)
    assert res["oracle"] < 0.35 * res["static"]  # the running mean of 10+ frames cuts the noise sd >= 3x
    clip = make_clip(crop, box, lm, "still_noisy", cfg, np.random.default_rng(1))
    assert oracle(m, clip, "still_noisy", cfg).shape == (40, 68, 2)


def test_unknown_condition_and_bad_config_are_refused():
    crop, box, lm = _face()
    with pytest.raises(ValueError, match="unknown control condition"):
        make_clip(crop, box, lm, "blur", ControlConfig(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="occlude_from"):
        ControlConfig(frames=10, occlude_from=10)
