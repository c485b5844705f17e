"""PnP head pose: Euler convention round trips and recovery of known poses from projected mean shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.mean_shape_3d import mean_shape_3d
from redbench.datasets.pose import PnPPoseEstimator, camera_matrix, euler_from_rotation, rotation, yaw_error_stats


@given(yaw=st.floats(-170, 170), pitch=st.floats(-85, 85), roll=st.floats(-170, 170))
def test_euler_round_trip(yaw, pitch, roll):
    np.testing.assert_allclose(euler_from_rotation(rotation(yaw, pitch, roll)), [yaw, pitch, roll], atol=1e-6)


def test_rotation_signs_match_the_documented_convention():
    nose_tip = np.array([0.0, 0.0, 1.0])  # z toward the camera
    assert (rotation(30, 0, 0) @ nose_tip)[0] > 0  # yaw > 0: nose toward the image right
    assert (rotation(0, 30, 0) @ nose_tip)[1] < 0  # pitch > 0: nose up (y points down)
    right = np.array([1.0, 0.0, 0.0])
    assert (rotation(0, 0, 30) @ right)[1] > 0  # roll > 0: clockwise on screen (x toward +y)


def test_rotation_by_hand_and_its_order():
    z, x = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(rotation(90, 0, 0) @ z, [1, 0, 0], atol=1e-12)  # Ry: z -> x
    np.testing.assert_allclose(rotation(0, 90, 0) @ z, [0, -1, 0], atol=1e-12)  # Rx: z -> -y
    np.testing.assert_allclose(rotation(0, 0, 90) @ x, [0, 1, 0], atol=1e-12)  # Rz: x -> y
    # Rz Rx Ry: yaw first (z -> x), then pitch leaves x alone; Ry Rx would give -y
    np.testing.assert_allclose(rotation(90, 90, 0) @ z, [1, 0, 0], atol=1e-12)


def test_the_synthetic_generator_uses_this_rotation():
    from redbench.datasets.synthetic import face_model

    assert face_model.rotation is rotation  # one definition: the generator's poses are the ones PnP reads


def _project(pose, width=640, height=480, focal=1.0, distance=600.0):
    """Pinhole projection of the mean shape at `pose` (the generator's frame: z toward the camera)."""
    q = mean_shape_3d() @ rotation(*pose).T
    K = camera_matrix(width, height, focal)
    depth = distance - q[:, 2]
    return np.stack([K[0, 0] * q[:, 0] / depth + K[0, 2], K[1, 1] * q[:, 1] / depth + K[1, 2]], axis=1)


@settings(max_examples=25, deadline=None)
@given(yaw=st.floats(-60, 60), pitch=st.floats(-25, 25), roll=st.floats(-30, 30))
def test_pnp_recovers_the_pose_of_a_projected_mean_shape(yaw, pitch, roll):
    est = PnPPoseEstimator(mean_shape_3d())
    np.testing.assert_allclose(est(_project((yaw, pitch, roll)), 640, 480), [yaw, pitch, roll], atol=0.05)


def test_focal_length_assumption_is_used():
    pts = _project((40, 0, 0), focal=3.0)
    right = PnPPoseEstimator(mean_shape_3d(), focal=3.0)(pts, 640, 480)
    np.testing.assert_allclose(right, [40, 0, 0], atol=0.05)
    wrong = PnPPoseEstimator(mean_shape_3d(), focal=0.5)(pts, 640, 480)
    assert np.abs(wrong - [40, 0, 0]).max() > 0.5


def test_yaw_error_stats_by_hand():
    s = yaw_error_stats(np.array([10.0, 20.0, 179.0, np.nan, 0.0]), np.array([12.0, 20.0, -179.0, 5.0, 10.0]))
    # errors 2, 0, 2 (wrapped), 10; the NaN frame is left out
    assert s["n"] == 4 and s["median"] == pytest.approx(2.0) and s["p90"] == pytest.approx(7.6)
    assert yaw_error_stats(np.full(3, np.nan), np.zeros(3)) == {"n": 0, "median": None, "p90": None}
