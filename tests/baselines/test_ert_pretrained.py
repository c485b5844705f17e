"""dlib's public 68-point model on a real face photograph shipped with scikit-image (astronaut)."""

from __future__ import annotations

import numpy as np
import pytest

from redbench.baselines import ert_pretrained
from redbench.landmarks import eye_centres, flip_points

# Determined by hand once from skimage.data.astronaut() (512 x 512) on a 10 px grid: the face's tight landmark
# box runs from the cheek edges x 182..270 and from the brows y 87 down to the chin y 188; eye centres at about
# (203, 102) and (245, 103) (the subject's right eye first), the mouth centre at about (225, 147).
FACE_BOX = np.array([182.0, 87.0, 270.0, 188.0])
EYES = np.array([[203.0, 102.0], [245.0, 103.0]])
MOUTH = np.array([225.0, 147.0])


@pytest.fixture(scope="module")
def astronaut():
    from skimage.data import astronaut

    return astronaut()


def test_model_file_is_found_without_importing_the_package() -> None:
    path = ert_pretrained.model_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 50_000_000


def test_landmarks_land_on_the_face(astronaut) -> None:
    method = ert_pretrained.load(None, ert_pretrained.Config())
    pred = method.predict_clip(astronaut[None], FACE_BOX[None], False)[0]  # (68, 2)
    lo, hi = FACE_BOX[:2] - 8, FACE_BOX[2:] + 8  # the face region, 8 px margin
    assert np.all((pred >= lo) & (pred <= hi))
    assert np.all(np.linalg.norm(eye_centres(pred) - EYES, axis=-1) < 6)
    assert np.linalg.norm(pred[48:60].mean(0) - MOUTH) < 8
    # The subject's right eye (36-41) is on the image's left, the jaw runs from left (0) to right (16).
    assert pred[36:42, 0].mean() < pred[42:48, 0].mean() and pred[0, 0] < pred[16, 0]


def test_mirrored_photo_gives_mirrored_landmarks(astronaut, checks) -> None:
    method = ert_pretrained.load(None, ert_pretrained.Config())
    pred = method.predict(astronaut[None], FACE_BOX[None])
    flipped = method.predict(np.ascontiguousarray(astronaut[None, :, ::-1]), checks.flip_box(FACE_BOX[None], 512))
    err = np.linalg.norm(flipped - flip_points(pred, 512), axis=-1).mean()
    assert err < 0.02 * np.linalg.norm(EYES[0] - EYES[1]) * 2.2  # under ~2% of the face width
