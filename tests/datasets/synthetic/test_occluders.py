import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.synthetic.occluders import KINDS, OccluderEvent, draw_occluder, occlusion_flags, sample_events


def test_flags_hand_computed():
    mask = np.zeros((10, 12), np.uint8)
    mask[2:5, 3:7] = 255  # rows 2-4, cols 3-6
    xy = np.array([[3.0, 2.0], [6.4, 4.4], [6.6, 4.0], [2.6, 3.0], [-1.0, 3.0], [5.0, 20.0]])
    np.testing.assert_array_equal(occlusion_flags(mask, xy), [True, True, False, True, False, False])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 2**31 - 1))
def test_flags_equal_mask_and_image_changes_where_covered(kind, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform([20, 20], [108, 76], (68, 2))
    ev = OccluderEvent(kind=kind, anchor=(30,), start=0, stop=1, ramp=0, direction=np.array([1.0, 0.0]),
                       size=0.5, angle=float(rng.uniform(-30, 30)), colour=(250.0, 10.0, 10.0),
                       offset=np.zeros(2))
    img = np.zeros((96, 128, 3), np.uint8)
    mask = np.zeros((96, 128), np.uint8)
    draw_occluder(img, mask, ev, xy[30], 60.0, xy)
    assert mask.any()
    flags = occlusion_flags(mask, xy)
    ij = np.round(xy).astype(int)
    np.testing.assert_array_equal(flags, mask[ij[:, 1], ij[:, 0]] > 0)
    # Where the mask is set (away from anti-aliased edges) the image carries the occluder's paint.
    inner = mask.copy()
    inner[:, 1:] &= mask[:, :-1]
    inner[1:, :] &= mask[:-1, :]
    assert img[inner > 0].max(axis=1).min() > 0


def test_event_enters_covers_and_leaves():
    ev = OccluderEvent(kind="bar", anchor=(30,), start=10, stop=20, ramp=4, direction=np.array([0.0, -1.0]),
                       size=0.5, angle=0.0, colour=(1.0, 1.0, 1.0), offset=np.zeros(2))
    anchor = np.array([50.0, 40.0])
    assert ev.placement(5, anchor, 60.0, 200.0) is None  # before the ramp
    entering = ev.placement(8, anchor, 60.0, 200.0)
    assert entering is not None and entering[1] < 40.0  # still coming in from above
    np.testing.assert_allclose(ev.placement(15, anchor, 60.0, 200.0), anchor)  # on the anchor during the run
    assert ev.placement(21, anchor, 60.0, 200.0)[1] < 40.0  # leaving the way it came
    assert ev.placement(24, anchor, 60.0, 200.0) is None


def test_sample_events_probability_and_runs():
    rng = np.random.default_rng(0)
    assert sample_events(rng, 100, 0.0, 2, (0.2, 0.4), (0.3, 0.5)) == []
    evs = sample_events(rng, 100, 1.0, 1, (0.2, 0.4), (0.3, 0.5))
    assert len(evs) == 1
    e = evs[0]
    assert 0 <= e.start < e.stop <= 100 and 20 <= e.stop - e.start <= 40
    still = sample_events(rng, 1, 1.0, 1, (0.2, 0.4), (0.3, 0.5))[0]
    assert (still.start, still.stop, still.ramp) == (0, 1, 0)
