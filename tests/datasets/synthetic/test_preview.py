import numpy as np

from redbench.datasets.preview import OCCLUDED, SELF_OCCLUDED, VISIBLE, PreviewSample, collect_samples, contact_sheet
from redbench.datasets.preview import draw_sample


def test_draw_sample_colours_points_by_flag():
    img = np.zeros((40, 60, 3), np.uint8)
    lm = np.full((68, 2), 30.0)
    lm[0] = [10, 20]
    lm[1] = [30, 20]
    lm[2] = [50, 20]
    occ = np.zeros(68, bool)
    occ[0] = True
    selfo = np.zeros(68, bool)
    selfo[1] = True
    out = draw_sample(PreviewSample(img, lm, occ, selfo, "x"), zoom=1.0)
    assert tuple(out[20, 10]) == OCCLUDED
    assert tuple(out[20, 30]) == SELF_OCCLUDED
    assert tuple(out[20, 50]) == VISIBLE


def test_contact_sheet_grid_size():
    s = PreviewSample(np.zeros((20, 30, 3), np.uint8), np.full((68, 2), 5.0), None, None, "a")
    sheet = contact_sheet([s] * 5, cols=2, zoom=2.0)
    assert sheet.shape == (3 * (40 + 2), 2 * (60 + 2), 3)


def test_collect_samples_spans_subsets(micro_root):
    samples = collect_samples("300vw", micro_root / "300vw", n=8, seed=0)
    assert len(samples) == 8
    assert {s.label.split()[0] for s in samples} >= {"300vw/114", "300vw/203", "300vw/410"}
    assert all(s.occluded is not None and s.occluded.shape == (68,) for s in samples)
