"""fetch: sources synthetic/path/url into data/raw/<name>, completion marker, refusals leave the target alone."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from dataclasses import dataclass

import pytest

from redbench.datasets import archive as archive_mod
from redbench.datasets import fetch as fetch_mod
from redbench.datasets.synthetic import generate
from redbench.datasets.synthetic.config import SyntheticConfig
from redbench.datasets.archive import ArchiveError, ChecksumError
from redbench.datasets.fetch import MARKER, FetchConfig, FetchError, fetch_dataset, is_complete


def _release_zip(path, top="300W", files=None):
    files = files or {"afw/1.pts": b"one", "ibug/2.pts": b"two"}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"{top}/{name}" if top else name, data)
    return path


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_fetch_config_validation():
    assert FetchConfig() == FetchConfig("synthetic", None, None, None)
    with pytest.raises(ValueError, match="source must be one of"):
        FetchConfig(source="ftp")
    with pytest.raises(ValueError, match="needs 'path'"):
        FetchConfig(source="path")
    with pytest.raises(ValueError, match="needs 'url'"):
        FetchConfig(source="url")
    with pytest.raises(ValueError, match="64 hex digits"):
        FetchConfig(source="path", path="x.zip", sha256="abc")


def test_archive_is_extracted_with_its_top_folder_stripped_and_marked_complete(tmp_path):
    archive = _release_zip(tmp_path / "300w.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    out = tmp_path / "data" / "raw" / "300w"
    result = fetch_dataset("300w", FetchConfig("path", str(archive), None, digest), out)
    assert not result.skipped
    assert _files(out) == {"afw/1.pts": b"one", "ibug/2.pts": b"two", MARKER: (out / MARKER).read_bytes()}
    marker = json.loads((out / MARKER).read_text())
    assert marker["dataset"] == "300w" and marker["archive_sha256"] == digest
    assert marker["source"]["path"] == str(archive.resolve()) and marker["source"]["sha256"] == digest
    assert sorted(p.name for p in out.parent.iterdir()) == ["300w"]  # no staging or temp folders left


def test_rerun_does_nothing_and_a_changed_source_fetches_again(tmp_path, monkeypatch):
    archive = _release_zip(tmp_path / "300w.zip")
    out = tmp_path / "raw" / "300w"
    cfg = FetchConfig("path", str(archive))
    fetch_dataset("300w", cfg, out)
    calls = []
    monkeypatch.setattr(fetch_mod, "safe_extract", lambda *a, **k: calls.append(a) or archive_mod.safe_extract(*a, **k))
    assert fetch_dataset("300w", cfg, out).skipped and calls == []
    _release_zip(tmp_path / "other.zip", files={"afw/9.pts": b"nine"})
    fetch_dataset("300w", FetchConfig("path", str(tmp_path / "other.zip")), out)
    assert len(calls) == 1 and set(_files(out)) == {"afw/9.pts", MARKER}


def test_folder_source_is_copied_and_refetched_when_it_changes(tmp_path):
    src = tmp_path / "my300vw"
    (src / "114" / "annot").mkdir(parents=True)
    (src / "114" / "annot" / "000001.pts").write_bytes(b"p1")
    out = tmp_path / "raw" / "300vw"
    cfg = FetchConfig("path", str(src))
    fetch_dataset("300vw", cfg, out)
    assert not (out / "114").is_symlink() and (out / "114" / "annot" / "000001.pts").read_bytes() == b"p1"
    assert fetch_dataset("300vw", cfg, out).skipped
    (src / "114" / "annot" / "000002.pts").write_bytes(b"p2")
    assert not fetch_dataset("300vw", cfg, out).skipped
    assert (out / "114" / "annot" / "000002.pts").read_bytes() == b"p2"
    with pytest.raises(FetchError, match="sha256 applies to archives"):
        fetch_dataset("300vw", FetchConfig("path", str(src), None, "0" * 64), out)
    with pytest.raises(FetchError, match="does not exist"):
        fetch_dataset("300vw", FetchConfig("path", str(tmp_path / "nope")), out)


def _complete_fetch(tmp_path):
    out = tmp_path / "raw" / "300w"
    fetch_dataset("300w", FetchConfig("path", str(_release_zip(tmp_path / "good.zip"))), out)
    return out, _files(out)


def test_sha256_mismatch_is_refused_and_the_previous_fetch_stays(tmp_path):
    out, before = _complete_fetch(tmp_path)
    other = _release_zip(tmp_path / "other.zip", files={"afw/x.pts": b"x"})
    with pytest.raises(ChecksumError, match="other.zip: sha256 is"):
        fetch_dataset("300w", FetchConfig("path", str(other), None, "0" * 64), out)
    assert _files(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["300w"]


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_escaping_archive_is_refused_and_the_target_is_untouched(tmp_path, kind):
    out, before = _complete_fetch(tmp_path)
    if kind == "zip":
        evil = tmp_path / "evil.zip"
        with zipfile.ZipFile(evil, "w") as zf:
            zf.writestr("afw/1.pts", b"new")
            zf.writestr("../../escaped.txt", b"gotcha")
    else:
        evil = tmp_path / "evil.tar.gz"
        with tarfile.open(evil, "w:gz") as tf:
            info = tarfile.TarInfo("../escaped.txt")
            info.size = 6
            tf.addfile(info, io.BytesIO(b"gotcha"))
    with pytest.raises(ArchiveError, match="refusing the archive"):
        fetch_dataset("300w", FetchConfig("path", str(evil)), out)
    assert _files(out) == before
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))
    assert sorted(p.name for p in out.parent.iterdir()) == ["300w"]


def test_an_interrupted_fetch_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    archive = _release_zip(tmp_path / "300w.zip")
    out = tmp_path / "raw" / "300w"

    def dies_half_way(archive, target, **kwargs):
        target.mkdir(parents=True)
        (target / "afw").mkdir()
        (target / "afw" / "1.pts").write_bytes(b"partial")
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C

    monkeypatch.setattr(fetch_mod, "safe_extract", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        fetch_dataset("300w", FetchConfig("path", str(archive)), out)
    assert not out.exists()
    assert not is_complete(out, fetch_mod.describe_source("300w", FetchConfig("path", str(archive))))
    # a process killed outright leaves its staging folder; the next run removes it and completes
    (out.parent / ".300w.fetch-killed" / "data").mkdir(parents=True)
    monkeypatch.undo()
    fetch_dataset("300w", FetchConfig("path", str(archive)), out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["300w"] and (out / "afw" / "1.pts").read_bytes() == b"one"


def test_a_folder_not_made_by_fetch_is_not_replaced(tmp_path):
    out = tmp_path / "raw" / "300w"
    (out / "afw").mkdir(parents=True)
    (out / "afw" / "mine.pts").write_bytes(b"hand-placed")
    with pytest.raises(FetchError, match="not written by `redbench fetch`"):
        fetch_dataset("300w", FetchConfig("path", str(_release_zip(tmp_path / "a.zip"))), out)
    assert (out / "afw" / "mine.pts").read_bytes() == b"hand-placed"


@dataclass(frozen=True)
class FakeSyntheticConfig:
    seed: int = 0
    n: int = 2


def test_synthetic_source_calls_the_generator_once_per_config(tmp_path, monkeypatch):
    calls = []

    def write_dataset(dataset, out_dir, cfg, progress):
        calls.append((dataset, cfg, progress))
        assert out_dir.is_dir() and list(out_dir.iterdir()) == []
        for k in range(cfg.n):
            (out_dir / f"franck_{k:05d}.pts").write_text(f"seed {cfg.seed}")

    monkeypatch.setattr(generate, "write_dataset", write_dataset)
    out = tmp_path / "raw" / "tf"
    fetch_dataset("tf", FetchConfig(), out, synthetic_cfg=FakeSyntheticConfig())
    assert calls == [("tf", FakeSyntheticConfig(), False)]
    assert set(_files(out)) == {"franck_00000.pts", "franck_00001.pts", MARKER}
    marker = json.loads((out / MARKER).read_text())
    assert marker["source"]["source"] == "synthetic" and marker["source"]["config"] == {"seed": 0, "n": 2}
    assert fetch_dataset("tf", FetchConfig(), out, synthetic_cfg=FakeSyntheticConfig()).skipped
    fetch_dataset("tf", FetchConfig(), out, synthetic_cfg=FakeSyntheticConfig(seed=1, n=1))
    assert len(calls) == 2 and set(_files(out)) == {"franck_00000.pts", MARKER}
    with pytest.raises(FetchError, match="needs the synthetic config"):
        fetch_dataset("tf", FetchConfig(), out)


def test_url_source_downloads_checks_extracts_and_deletes_the_download(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    archive = _release_zip(served / "300W.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/300W.zip"
        out = tmp_path / "raw" / "300w"
        with pytest.raises(ChecksumError):
            fetch_dataset("300w", FetchConfig("url", None, url, "f" * 64), out, backoff_s=0)
        assert not out.exists() and list((tmp_path / "raw" / ".downloads").iterdir()) == []
        fetch_dataset("300w", FetchConfig("url", None, url, digest), out, backoff_s=0)
        missing = FetchConfig("url", None, url.replace("300W.zip", "nope.zip"))
        with pytest.raises(Exception, match="HTTP 404"):
            fetch_dataset("300w", missing, tmp_path / "raw" / "other", backoff_s=0)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert set(_files(out)) == {"afw/1.pts", "ibug/2.pts", MARKER}
    assert list((tmp_path / "raw" / ".downloads").iterdir()) == []  # the archive is deleted once extracted


def test_synthetic_fetch_is_read_back_by_the_raw_readers(tmp_path):
    """The generator writes the real layouts: the same readers serve synthetic and real data."""
    from redbench.datasets.raw import iter_raw_videos

    cfg = SyntheticConfig(
        vw_train_videos=1, vw_test_videos_per_category=1, vw_frames=3, w300_afw=1, w300_helen_train=1,
        w300_lfpw_train=1, w300_helen_test=1, w300_lfpw_test=1, w300_ibug=1, tf_frames=2,
        n_identities_train=2, n_identities_test=2,
    )
    expected = {"300w": {"train": 3, "common": 2, "challenging": 1},
                "300vw": {"train": 1, "category1": 1, "category2": 1, "category3": 1}, "tf": {"tf": 1}}
    for dataset, subsets in expected.items():
        out = fetch_dataset(dataset, FetchConfig(), tmp_path / dataset, synthetic_cfg=cfg).out_dir
        videos = list(iter_raw_videos(dataset, out))
        found = {}
        for video in videos:
            found[video.subset] = found.get(video.subset, 0) + 1
            frames = list(video.frames())
            assert len(frames) == video.n_frames == len(video.sidecar["frames"])
            assert video.identity == video.sidecar["identity"]
            for frame in frames:
                h, w = frame.image.shape[:2]
                assert frame.landmarks.shape == (68, 2)
                cx, cy = frame.landmarks.mean(axis=0)  # the face is in the picture (0-based pixels)
                assert 0 <= cx < w and 0 <= cy < h
        assert found == subsets, dataset
