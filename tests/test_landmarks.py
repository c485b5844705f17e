"""The 68-point schema: groups, reference points, point subsets and the flip permutation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from redbench import landmarks as lm

MIRROR = {
    "jaw": "jaw", "nose": "nose", "outer_mouth": "outer_mouth", "inner_mouth": "inner_mouth",
    "right_brow": "left_brow", "left_brow": "right_brow", "right_eye": "left_eye", "left_eye": "right_eye",
}


def test_groups_partition_the_68_points():
    indices = [i for g in lm.GROUPS.values() for i in g]
    assert sorted(indices) == list(range(68))
    assert [len(lm.GROUPS[g]) for g in MIRROR] == [17, 9, 12, 8, 5, 5, 6, 6]
    coarse = [i for g in lm.COARSE_GROUPS.values() for i in g]
    assert sorted(coarse) == list(range(68))


def test_reference_points():
    assert lm.OUTER_EYE_CORNERS == (36, 45)
    assert lm.OUTER_EYE_CORNERS[0] in lm.GROUPS["right_eye"] and lm.OUTER_EYE_CORNERS[1] in lm.GROUPS["left_eye"]
    # the released RED demo's 1-based ids 37, 40, 43, 46, 31, 49, 55
    assert lm.RED_DEMO_POINTS == tuple(i - 1 for i in (37, 40, 43, 46, 31, 49, 55))


def test_point_subsets():
    assert len(lm.POINTS_51) == 51 and len(lm.POINTS_49) == 49
    assert set(lm.POINTS_51) == set(range(68)) - set(lm.GROUPS["jaw"])
    assert set(lm.POINTS_51) - set(lm.POINTS_49) == {60, 64}
    assert lm.POINT_SETS[68] == tuple(range(68))


def test_eye_centres_are_the_means_of_the_six_eye_points():
    points = np.zeros((68, 2))
    points[36:42] = [[0, 0], [2, 0], [4, 0], [6, 0], [4, 2], [2, 2]]  # mean (3, 2/3)
    points[42:48] = [[10, 6], [10, 6], [10, 6], [10, 6], [10, 6], [16, 12]]  # mean (11, 7)
    centres = lm.eye_centres(points)
    np.testing.assert_allclose(centres, [[3, 2 / 3], [11, 7]])
    batched = lm.eye_centres(np.stack([points, points + 1]))  # (2, 2, 2)
    np.testing.assert_allclose(batched[1], centres + 1)


def test_flip_permutation_is_an_involution_mapping_groups_to_their_mirrors():
    perm = lm.flip_permutation()
    assert sorted(perm) == list(range(68))
    np.testing.assert_array_equal(perm[perm], np.arange(68))
    for group, mirror in MIRROR.items():
        assert {int(perm[i]) for i in lm.GROUPS[group]} == set(lm.GROUPS[mirror]), group
    assert perm[36] == 45 and perm[8] == 8 and perm[30] == 30  # outer eye corners swap, chin/nose tip stay


def test_flip_points_hand_case():
    points = np.tile([[2.0, 5.0]], (68, 1))
    points[45] = [7.0, 1.0]  # the subject's left outer eye corner, right side of the image
    flipped = lm.flip_points(points, width=10)
    # after a flip it is the subject's right outer eye corner (36) at x = 10 - 1 - 7 = 2
    np.testing.assert_array_equal(flipped[36], [2.0, 1.0])
    np.testing.assert_array_equal(flipped[0], [7.0, 5.0])


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (3, 68, 2), elements=st.floats(-100, 100)), st.integers(1, 500))
def test_flip_twice_is_identity_and_preserves_the_inter_ocular_distance(points, width):
    once = lm.flip_points(points, width)
    np.testing.assert_allclose(lm.flip_points(once, width), points, atol=1e-9)
    a, b = lm.OUTER_EYE_CORNERS
    distance = np.linalg.norm(points[:, a] - points[:, b], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(once[:, a] - once[:, b], axis=-1), distance, atol=1e-9)
