import numpy as np
import pytest

from redbench.datasets.synthetic.trajectory import DIFFICULTY, sample_motion, smooth_noise


def test_smooth_noise_has_unit_std_and_is_smooth():
    x = smooth_noise(np.random.default_rng(0), 20000, 10.0)
    assert x.std() == pytest.approx(1.0, rel=0.1)
    assert np.diff(x).std() < 0.2  # correlated over ~10 frames


@pytest.mark.parametrize("category", [1, 2, 3])
def test_motion_respects_category_limits(category):
    d = DIFFICULTY[category]
    m = sample_motion(np.random.default_rng(category), 200, 25.0, d, (256, 192), 80.0, 120.0)
    assert np.all(np.abs(m.pose) <= np.array(d.pose_max) + 1e-9)
    assert np.all((m.light_gain >= d.light_gain[0]) & (m.light_gain <= d.light_gain[1]))
    np.testing.assert_allclose(np.linalg.norm(m.light_dir, axis=1), 1.0)


def test_categories_order_pose_and_speed():
    yaw = {}
    speed = {}
    for c in (1, 2, 3):
        ys, sp = [], []
        for k in range(10):
            m = sample_motion(np.random.default_rng(100 + k), 100, 25.0, DIFFICULTY[c], (256, 192), 80.0, 120.0)
            ys.append(np.abs(m.pose[:, 0]))
            sp.append(np.abs(np.diff(m.pose[:, 0])))
        yaw[c], speed[c] = np.concatenate(ys).mean(), np.concatenate(sp).mean()
    assert yaw[1] < yaw[2] < yaw[3]
    assert speed[1] < speed[2] < speed[3]
