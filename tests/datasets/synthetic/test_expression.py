import numpy as np

from redbench.datasets.mean_shape_3d import mean_shape_3d
from redbench.datasets.synthetic.expression import apply_expression, sample_expressions


def test_neutral_is_identity():
    s = mean_shape_3d()
    np.testing.assert_array_equal(apply_expression(s, 0, 0, 0, 0), s)


def test_blink_closes_both_eyes():
    s = mean_shape_3d()
    closed = apply_expression(s, 0, 0, 0, 1.0)
    for upper, lower in (((37, 38), (41, 40)), ((43, 44), (47, 46))):
        gap = closed[list(lower), 1] - closed[list(upper), 1]
        assert np.all(np.abs(gap) < 0.5)
        assert np.all(s[list(lower), 1] - s[list(upper), 1] > 6)


def test_mouth_open_drops_lower_lip_and_chin():
    s = mean_shape_3d()
    o = apply_expression(s, 1.0, 0, 0, 0)
    assert o[66, 1] - o[62, 1] > 10 > s[66, 1] - s[62, 1]
    assert o[8, 1] > s[8, 1] + 10
    np.testing.assert_allclose(o[0, 1], s[0, 1])  # the jaw's top (at the ear) does not move


def test_smile_widens_and_raises_corners():
    s = mean_shape_3d()
    o = apply_expression(s, 0, 1.0, 0, 0)
    assert o[54, 0] - o[48, 0] > s[54, 0] - s[48, 0] + 8
    assert o[48, 1] < s[48, 1] and o[54, 1] < s[54, 1]


def test_brow_raise_moves_only_brows_up():
    s = mean_shape_3d()
    o = apply_expression(s, 0, 0, 1.0, 0)
    assert np.all(o[17:27, 1] < s[17:27, 1] - 3)
    np.testing.assert_array_equal(np.delete(o, range(17, 27), axis=0), np.delete(s, range(17, 27), axis=0))


def test_sampled_expressions_in_unit_range_with_blinks():
    tr = sample_expressions(np.random.default_rng(0), 250, 25.0)
    for v in (tr.mouth_open, tr.smile, tr.brow_raise, tr.blink):
        assert v.shape == (250,) and v.min() >= 0 and v.max() <= 1
    assert tr.blink.max() == 1.0  # 10 s of video: at least one full blink
