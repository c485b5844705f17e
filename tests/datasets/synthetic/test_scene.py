import dataclasses
import subprocess
import sys

import numpy as np

from redbench.datasets.synthetic.generate import item_rng, make_identity
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.synthetic.occluders import OccluderEvent
from redbench.datasets.synthetic.scene import make_script, project_landmarks, render_script


def _script(category=3, n=12, seed=0):
    cfg = SyntheticConfig.micro()
    return make_script(item_rng(seed, "scene-test"), make_identity(cfg, "train", 0), category, n, 25.0,
                       (128, 96), 48.0)


def test_landmarks_are_the_projected_model_and_inside_the_frame():
    s = _script()
    frames = list(render_script(s))
    gt = project_landmarks(s.identity, s.motion, s.expressions)
    np.testing.assert_allclose(np.stack([f.landmarks for f in frames]), gt)
    assert gt.min() >= 0 and gt[..., 0].max() <= 127 and gt[..., 1].max() <= 95
    np.testing.assert_allclose(np.stack([f.pose for f in frames]), s.motion.pose)


def test_flags_mark_exactly_where_the_occluder_paints():
    s = _script(category=1)
    bar = OccluderEvent(kind="bar", anchor=(36, 39, 42, 45), start=3, stop=9, ramp=2,
                        direction=np.array([1.0, 0.0]), size=0.4, angle=0.0, colour=(255.0, 0.0, 255.0),
                        offset=np.zeros(2))
    with_bar = list(render_script(dataclasses.replace(s, events=[bar])))
    clean = list(render_script(dataclasses.replace(s, events=[])))
    assert not any(f.occluded.any() for f in clean)
    assert not with_bar[0].occluded.any() and not with_bar[-1].occluded.any()  # entered later, left earlier
    t = 5  # fully on: the horizontal bar covers both eyes
    occ = with_bar[t].occluded
    assert occ[36:48].all() and not occ[48:68].any() and not occ[8]
    ij = np.round(with_bar[t].landmarks).astype(int)
    diff = np.abs(with_bar[t].image.astype(int) - clean[t].image.astype(int)).sum(axis=-1)
    changed = diff[ij[:, 1], ij[:, 0]] > 40
    np.testing.assert_array_equal(changed[occ], True)
    assert not changed[48:68].any()


def test_rendering_is_deterministic():
    a = [f.image for f in render_script(_script(seed=3))]
    b = [f.image for f in render_script(_script(seed=3))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_import_is_light():
    code = ("import sys, redbench.datasets.synthetic.config as s; "
            "assert 'cv2' not in sys.modules and 'redbench.datasets.synthetic.generate' not in sys.modules; "
            "s.SyntheticConfig")
    subprocess.run([sys.executable, "-c", code], check=True)
