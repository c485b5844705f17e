"""Safe extraction: every escape attempt is refused before anything is written; checksums are enforced."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
import zipfile

import pytest

from redbench.datasets.archive import ArchiveError, ChecksumError, archive_kind, safe_extract, verify_sha256


def _zip(path, entries):
    """entries: (name, bytes) or (name, ("symlink", target))."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            if isinstance(data, tuple):
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = data[1].encode()
            zf.writestr(info, data)
    return path


def _tar(path, entries, mode="w:gz"):
    """entries: (name, bytes) or (name, (kind, target)) with kind symlink|hardlink|chardev."""
    with tarfile.open(path, mode) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                kind, target = data
                info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE}[kind]
                info.linkname = target
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _tree(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_zip_with_one_top_folder_is_stripped(tmp_path):
    archive = _zip(tmp_path / "release.zip", [("300VW_Dataset/001/annot/000001.pts", b"pts"),
                                              ("300VW_Dataset/001/vid.avi", b"avi"),
                                              ("__MACOSX/300VW_Dataset/._vid.avi", b"junk")])
    target = safe_extract(archive, tmp_path / "out")
    assert _tree(target) == {"001", "001/annot", "001/annot/000001.pts", "001/vid.avi"}
    assert (target / "001" / "vid.avi").read_bytes() == b"avi"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # temp folder removed


def test_tar_with_several_top_entries_is_kept_whole(tmp_path):
    entries = [("afw/1.pts", b"a"), ("ibug/2.pts", b"b"), ("ibug/link.pts", ("symlink", "2.pts"))]
    archive = _tar(tmp_path / "w.tar.gz", entries)
    target = safe_extract(archive, tmp_path / "out")
    assert _tree(target) == {"afw", "afw/1.pts", "ibug", "ibug/2.pts", "ibug/link.pts"}
    assert (target / "ibug" / "link.pts").read_bytes() == b"b"  # a link that stays inside is fine
    target2 = safe_extract(archive, tmp_path / "out2", strip_top=False)
    assert _tree(target2) == _tree(target)


def test_single_top_folder_not_stripped_when_asked(tmp_path):
    archive = _tar(tmp_path / "a.tar", [("top/x.txt", b"x")], mode="w")
    assert _tree(safe_extract(archive, tmp_path / "out", strip_top=False)) == {"top", "top/x.txt"}


ZIP_ATTACKS = {
    "dotdot": [("ok.txt", b"fine"), ("../evil.txt", b"x")],
    "nested-dotdot": [("ok.txt", b"fine"), ("a/../../evil.txt", b"x")],
    "absolute": [("ok.txt", b"fine"), ("/tmp/evil.txt", b"x")],
    "windows-dotdot": [("ok.txt", b"fine"), ("..\\evil.txt", b"x")],
    "symlink-out": [("ok.txt", b"fine"), ("link", ("symlink", "../../etc"))],
}
TAR_ATTACKS = {
    "dotdot": [("ok.txt", b"fine"), ("../evil.txt", b"x")],
    "absolute": [("ok.txt", b"fine"), ("/tmp/evil.txt", b"x")],
    "symlink-out": [("ok.txt", b"fine"), ("link", ("symlink", "../outside"))],
    "symlink-absolute": [("ok.txt", b"fine"), ("link", ("symlink", "/etc/passwd"))],
    "hardlink-out": [("ok.txt", b"fine"), ("hard", ("hardlink", "../outside.txt"))],
    "symlink-chain": [("ok.txt", b"fine"), ("a", ("symlink", ".")), ("b", ("symlink", "a/.."))],
    "write-through-symlink": [("ok.txt", b"fine"), ("d", ("symlink", "sub")), ("d/evil.txt", b"x")],
    "device": [("ok.txt", b"fine"), ("dev", ("chardev", ""))],
}


def _assert_refused(archive, tmp_path, match):
    before = _tree(tmp_path)
    with pytest.raises(ArchiveError, match=match):
        safe_extract(archive, tmp_path / "target")
    assert _tree(tmp_path) == before  # nothing extracted, no temp folder left, nothing written outside
    assert not (tmp_path.parent / "evil.txt").exists()


@pytest.mark.parametrize("attack", sorted(ZIP_ATTACKS))
def test_zip_escapes_are_refused_and_nothing_is_written(tmp_path, attack):
    archive = _zip(tmp_path / f"{attack}.zip", ZIP_ATTACKS[attack])
    _assert_refused(archive, tmp_path, f"{attack}.zip: .*refusing the archive")


@pytest.mark.parametrize("attack", sorted(TAR_ATTACKS))
def test_tar_escapes_are_refused_and_nothing_is_written(tmp_path, attack):
    archive = _tar(tmp_path / f"{attack}.tar.gz", TAR_ATTACKS[attack])
    _assert_refused(archive, tmp_path, f"{attack}.tar.gz: .*refusing the archive")


def test_existing_target_and_non_archives_are_refused(tmp_path):
    archive = _tar(tmp_path / "a.tar", [("x.txt", b"x")], mode="w")
    (tmp_path / "target").mkdir()
    with pytest.raises(ArchiveError, match="already exists"):
        safe_extract(archive, tmp_path / "target")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert archive_kind(text) is None and archive_kind(archive) == "tar"
    with pytest.raises(ArchiveError, match="not a zip or tar"):
        safe_extract(text, tmp_path / "t2")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArchiveError, match="broken.zip: unreadable zip"):
        safe_extract(broken, tmp_path / "t3")
    assert not (tmp_path / "t3").exists()


def test_sha256_is_checked(tmp_path):
    archive = _zip(tmp_path / "a.zip", [("x.txt", b"x")])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert verify_sha256(archive, digest) == digest
    assert verify_sha256(archive, digest.upper()) == digest
    assert verify_sha256(archive, None) == digest
    with pytest.raises(ChecksumError, match=f"a.zip: sha256 is {digest}, but the config expects {'0' * 64}"):
        verify_sha256(archive, "0" * 64)
