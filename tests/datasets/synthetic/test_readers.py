"""The dataset readers read the synthetic output unchanged."""

import numpy as np
import pytest

from redbench.datasets import raw
from redbench.datasets.pts import read_pts, to_zero_based
from redbench.datasets.synthetic.config import SyntheticConfig



@pytest.mark.parametrize("dataset", ["300vw", "300w", "tf"])
def test_readers_read_synthetic_output(micro_root, dataset):
    cfg = SyntheticConfig.micro()
    videos = list(raw.iter_raw_videos(dataset, micro_root / dataset))
    assert videos
    for v in videos:
        assert v.sidecar is not None and v.identity == v.sidecar["identity"]
        frames = list(v.frames())
        assert len(frames) == v.n_frames == len(v.sidecar["frames"])
        for f in frames:
            assert f.image.shape == (cfg.frame_height, cfg.frame_width, 3) and f.image.dtype == np.uint8
            assert f.landmarks.shape == (68, 2)
            assert not f.unreliable
        assert [f.frame_index for f in frames] == list(range(v.n_frames))
    if dataset == "300vw":
        subsets = {v.name.split("/")[1]: v.subset for v in videos}
        assert subsets["001"] == "train" and subsets["114"] == "category1" and subsets["410"] == "category3"
    if dataset == "300w":
        assert {v.subset for v in videos} == {"train", "common", "challenging"}


def test_reader_landmarks_equal_written_pts_minus_one(micro_root):
    v = next(iter(raw.iter_raw_videos("300vw", micro_root / "300vw")))
    f = next(iter(v.frames()))
    pts = read_pts(micro_root / "300vw" / v.name.split("/")[1] / "annot" / "000001.pts")
    np.testing.assert_allclose(f.landmarks, to_zero_based(pts))
