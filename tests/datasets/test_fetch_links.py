"""`source: path` folders: links are followed only inside the folder; loops and broken links are named."""

from __future__ import annotations

import os

import pytest

from redbench.datasets.fetch import FetchConfig, FetchError, fetch_dataset


def _source(tmp_path):
    src = tmp_path / "my300vw"
    (src / "114" / "annot").mkdir(parents=True)
    (src / "114" / "annot" / "000001.pts").write_bytes(b"p1")
    return src


def test_links_inside_the_folder_are_copied_as_files(tmp_path):
    src = _source(tmp_path)
    os.symlink(src / "114" / "annot" / "000001.pts", src / "114" / "annot" / "000002.pts")
    os.symlink(src / "114", src / "115")
    out = tmp_path / "raw" / "300vw"
    fetch_dataset("300vw", FetchConfig("path", str(src)), out)
    assert (out / "114" / "annot" / "000002.pts").read_bytes() == b"p1"
    assert not (out / "115").is_symlink() and (out / "115" / "annot" / "000001.pts").read_bytes() == b"p1"


@pytest.mark.parametrize("make, message", [
    (lambda src, outside: os.symlink(outside, src / "114" / "annot" / "000002.pts"), "outside .*refusing to copy"),
    (lambda src, outside: os.symlink(src / "114", src / "114" / "annot" / "up"), "links back to .*symlink loop"),
    (lambda src, outside: os.symlink(src / "114" / "self", src / "114" / "self"), "broken link or symlink loop"),
    (lambda src, outside: os.symlink(src / "gone", src / "114" / "dangling"), "broken link or symlink loop"),
])
def test_links_leading_out_or_looping_are_refused_and_nothing_is_fetched(tmp_path, make, message):
    src = _source(tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the dataset")
    make(src, outside)
    out = tmp_path / "raw" / "300vw"
    with pytest.raises(FetchError, match=rf"fetch\.300vw\.path: .*{message}"):
        fetch_dataset("300vw", FetchConfig("path", str(src)), out)
    assert not out.exists()
