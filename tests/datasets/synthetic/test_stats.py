import numpy as np
import pytest

from redbench.datasets.synthetic.stats import SequenceLabels, category_stats, dataset_stats, format_table, motion
from redbench.datasets.synthetic.trajectory import DIFFICULTY


def test_motion_hand_computed():
    box = np.array([[0, 0], [10, 0], [0, 40], [10, 40]], float)  # w=10, h=40: size 20
    lm = np.stack([np.resize(box, (68, 2)), np.resize(box, (68, 2)) + [3, 4]])  # every point moves by 5
    np.testing.assert_allclose(motion(lm), [5 / 20])


def test_category_stats_hand_computed():
    occ = np.zeros((2, 68), bool)
    occ[0, :17] = True
    s = SequenceLabels(name="x", category=1, landmarks=np.zeros((2, 68, 2)) + np.arange(68)[None, :, None],
                       pose=np.array([[10.0, -2, 1], [-30.0, 4, -3]]), occluded=occ,
                       self_occluded=np.zeros((2, 68), bool))
    st = category_stats([s], "category1")
    assert st.frames == 2 and st.sequences == 1
    assert st.yaw_abs_mean == pytest.approx(20.0) and st.yaw_abs_max == pytest.approx(30.0)
    assert st.occluded_points == pytest.approx(17 / 136) and st.occluded_frames == pytest.approx(0.5)
    assert st.motion_mean == pytest.approx(0.0)


def test_categories_follow_their_definitions(category_root):
    rows = {r.category: r for r in dataset_stats("300vw", category_root / "300vw")}
    c1, c2, c3 = rows["category1"], rows["category2"], rows["category3"]
    assert c1.frames == c2.frames == c3.frames == 120
    for c, r in ((1, c1), (2, c2), (3, c3)):
        assert r.yaw_abs_max <= DIFFICULTY[c].pose_max[0] + 1e-3
    assert c1.yaw_abs_p95 < c2.yaw_abs_p95 < c3.yaw_abs_p95
    assert c3.yaw_abs_p95 > 45  # profile-ish faces in category 3
    assert c1.occluded_points < c3.occluded_points and c3.occluded_frames > 0.25
    assert c1.self_occluded_points < c3.self_occluded_points
    assert c1.motion_mean < c3.motion_mean
    assert "category3" in format_table(list(rows.values()))
