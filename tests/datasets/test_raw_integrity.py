"""Bad raw files and damaged shard folders are refused with the file named."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from redbench.datasets.fake import make_fake_shards
from redbench.datasets.raw import RawDataError, read_image_rgb
from redbench.datasets.shards import ShardError, load_manifest


def _image(seed=0):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), (5, 5), 0)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_truncated_image_is_refused_naming_the_file(tmp_path, suffix):
    path = tmp_path / f"frame{suffix}"
    assert cv2.imwrite(str(path), _image())
    whole = read_image_rgb(path)
    assert whole.shape == (96, 128, 3)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # libjpeg alone decodes this, padding the rest with grey
    with pytest.raises(RawDataError, match=rf"frame{suffix}: truncated image"):
        read_image_rgb(path)


def test_an_unreadable_image_names_the_file(tmp_path):
    with pytest.raises(RawDataError, match=r"nope\.jpg: not readable"):
        read_image_rgb(tmp_path / "nope.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(RawDataError, match=r"text\.jpg: not a readable image"):
        read_image_rgb(tmp_path / "text.jpg")


def test_a_manifest_listing_a_deleted_shard_says_so(tmp_path):
    make_fake_shards(tmp_path, n_clips=2, n_frames=3, crop_size=16, seed=0)
    m = load_manifest(tmp_path)
    (tmp_path / m.shards[0].path).unlink()
    for verify in (False, True):
        with pytest.raises(ShardError, match=rf"{m.shards[0].path}: shard is missing"):
            m.open(m.shards[0], verify=verify)
