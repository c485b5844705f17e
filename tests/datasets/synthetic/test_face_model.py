import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redbench.datasets.synthetic.face_model import Camera, head_model, rotation, self_occlusion
from redbench.datasets.synthetic.identity import sample_identity

angles = st.floats(-89, 89)


@settings(max_examples=30, deadline=None)
@given(angles, angles, angles)
def test_rotation_is_proper(yaw, pitch, roll):
    R = rotation(yaw, pitch, roll)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_rotation_signs():
    tip = np.array([0.0, 0.0, 30.0])  # a nose tip in front of the origin
    assert (rotation(30, 0, 0) @ tip)[0] > 0  # yaw > 0: nose toward the image right
    assert (rotation(0, 30, 0) @ tip)[1] < 0  # pitch > 0: nose up (y down)
    right = np.array([10.0, 0.0, 0.0])
    assert (rotation(0, 0, 30) @ right)[1] > 0  # roll > 0: x axis turns toward +y, clockwise on screen


def test_projection_frontal_is_scaled_perspective():
    cam = Camera(R=np.eye(3), centre=np.array([100.0, 80.0]), scale=0.5, distance=700.0)
    p = np.array([[10.0, -20.0, 0.0], [10.0, -20.0, 70.0]])
    xy = cam.project(p)
    np.testing.assert_allclose(xy[0], [105.0, 70.0])
    np.testing.assert_allclose(xy[1], [100 + 5 * 700 / 630, 80 - 10 * 700 / 630])


def _identity(k=0):
    return sample_identity(np.random.default_rng(k), f"t{k}")


def test_frontal_face_has_no_self_occlusion():
    head = head_model(_identity())
    cam = Camera(R=rotation(0, 0, 0), centre=np.zeros(2), scale=1.0)
    assert not self_occlusion(cam, head.landmarks, head.normals).any()


@pytest.mark.parametrize("yaw", [60.0, -60.0])
def test_large_yaw_hides_the_far_side(yaw):
    head = head_model(_identity(3))
    cam = Camera(R=rotation(yaw, 0, 0), centre=np.zeros(2), scale=1.0)
    hidden = self_occlusion(cam, head.landmarks, head.normals)
    # yaw > 0 turns the face toward the image right, so the subject's left side (jaw 9-16) is the far side.
    far, near = (range(12, 17), range(0, 5)) if yaw > 0 else (range(0, 5), range(12, 17))
    assert hidden[list(far)].all()
    assert not hidden[list(near)].any()
    assert not hidden[30]  # the nose tip stays visible


def test_identity_changes_shape_not_point_order():
    a, b = head_model(_identity(1)).landmarks, head_model(_identity(2)).landmarks
    assert not np.allclose(a, b)
    for s in (a, b):
        assert s[36:42, 0].max() < 0 < s[42:48, 0].min()
        assert s[30, 1] < s[51, 1] < s[57, 1] < s[8, 1]
