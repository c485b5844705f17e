"""Checked, safe extraction of zip and tar archives.

Every member is validated before anything is written: an absolute name, a `..` component, a member written
through a symlink, or a symlink/hardlink that resolves outside the archive root refuses the whole archive.
Extraction goes into a temporary folder beside the target, which is renamed into place only when complete,
so a refused or interrupted extraction leaves the target as it was. Tar extraction additionally runs under
tarfile's "data" filter (Python >= 3.11.4), a second barrier.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from redbench._io import sha256_file

log = logging.getLogger(__name__)

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
# Folders and files archivers add that are not part of any dataset layout.
_JUNK = ("__MACOSX", ".DS_Store")
_MAX_LINK_HOPS = 40  # as the Linux kernel's symlink limit


class ArchiveError(ValueError):
    """An archive that is unreadable or unsafe to extract; the message names it and the member."""


class ChecksumError(ArchiveError):
    """A file whose sha256 differs from the one the config gives."""


@dataclass(frozen=True)
class Member:
    name: str  # normalised: "/"-separated, no "." parts
    kind: str  # "file" | "dir" | "symlink" | "hardlink"
    link: str | None = None  # symlink target (relative to the member's folder) or hardlink target (archive root)


def verify_sha256(path: Path, expected: str | None) -> str:
    """The file's sha256; raises ChecksumError when `expected` is given and differs."""
    log.info("computing sha256 of %s", path)
    actual = sha256_file(path)
    if expected is not None and actual != expected.lower():
        raise ChecksumError(f"{path}: sha256 is {actual}, but the config expects {expected.lower()}; refusing it")
    return actual


def archive_kind(path: Path) -> str | None:
    """"zip", "tar" or None (not an archive this module reads)."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    return None


def safe_extract(archive: Path, target: Path, strip_top: bool = True, progress: bool = False) -> Path:
    """Extract `archive` into `target` (which must not exist yet) after validating every member.

    With `strip_top`, when the archive holds one top-level folder and nothing else (besides archiver junk
    such as __MACOSX/), that folder's contents become `target`'s contents: real releases wrap their layout
    in a folder such as `300VW_Dataset_2015_12_14/`.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise ArchiveError(f"{target}: extraction target already exists")
    kind = archive_kind(archive)
    if kind is None:
        raise ArchiveError(f"{archive}: not a zip or tar archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
    try:
        if kind == "zip":
            _extract_zip(archive, tmp, progress)
        else:
            _extract_tar(archive, tmp, progress)
        root = _content_root(tmp) if strip_top else tmp
        os.rename(root, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _content_root(folder: Path) -> Path:
    for junk in _JUNK:
        p = folder / junk
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        log.info("stripping the archive's single top-level folder %s/", entries[0].name)
        return entries[0]
    return folder


def normalise_name(name: str, archive: Path) -> str:
    """A member name as "/"-separated relative parts; refuses absolute names and `..`."""
    if not name or "\x00" in name:
        raise ArchiveError(f"{archive}: member with an empty or NUL-containing name {name!r}")
    posix = name.replace("\\", "/")  # names written on Windows
    if posix.startswith("/") or (len(posix) >= 2 and posix[1] == ":"):
        raise ArchiveError(f"{archive}: member {name!r} has an absolute path; refusing the archive")
    parts = [p for p in posix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive}: member {name!r} contains '..'; refusing the archive")
    return "/".join(parts)


def check_members(members: list[Member], archive: Path) -> None:
    """Refuse the archive if any member would be written, or point, outside the extraction root."""
    symlinks = {m.name: m.link or "" for m in members if m.kind == "symlink"}
    for m in members:
        parts = m.name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in symlinks:
                raise ArchiveError(f"{archive}: member {m.name!r} is written through a symlink; refusing the archive")
        if m.kind == "symlink":
            link = (m.link or "").replace("\\", "/")
            start = parts[:-1]
            if link.startswith("/") or _resolve(start + link.split("/"), symlinks) is None:
                raise ArchiveError(
                    f"{archive}: symlink {m.name!r} -> {m.link!r} points outside the target; refusing the archive"
                )
        elif m.kind == "hardlink":
            link = (m.link or "").replace("\\", "/")
            if link.startswith("/") or _resolve(link.split("/"), symlinks) is None:
                raise ArchiveError(
                    f"{archive}: hardlink {m.name!r} -> {m.link!r} points outside the target; refusing the archive"
                )


def _resolve(parts: list[str], symlinks: dict[str, str]) -> str | None:
    """Resolve a path inside the archive root, following the archive's own symlinks; None if it escapes."""
    resolved: list[str] = []
    queue = list(parts)
    hops = 0
    while queue:
        part = queue.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(part)
        target = symlinks.get("/".join(resolved))
        if target is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS or target.startswith("/"):
                return None
            resolved.pop()
            queue = target.replace("\\", "/").split("/") + queue
    return "/".join(resolved)


def _zip_members(zf: zipfile.ZipFile, archive: Path) -> list[tuple[zipfile.ZipInfo, Member]]:
    out = []
    for info in zf.infolist():
        name = normalise_name(info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            member = Member(name, "symlink", zf.read(info).decode("utf-8", errors="replace"))
        elif info.is_dir():
            member = Member(name, "dir")
        else:
            member = Member(name, "file")
        if name:  # "./" alone names the root
            out.append((info, member))
    return out


def _extract_zip(archive: Path, dest: Path, progress: bool) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _zip_members(zf, archive)
            check_members([m for _, m in members], archive)
            links = []
            for info, m in tqdm(members, desc=f"extract {archive.name}", unit="file", disable=not progress):
                path = dest / m.name
                if m.kind == "dir":
                    path.mkdir(parents=True, exist_ok=True)
                elif m.kind == "symlink":
                    links.append(m)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(path, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            for m in links:  # after the files, so no file is ever written through a link
                (dest / m.name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(m.link, dest / m.name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise ArchiveError(f"{archive}: unreadable zip archive: {e}") from None


def _tar_member(info: tarfile.TarInfo, archive: Path) -> Member:
    name = normalise_name(info.name, archive)
    if info.issym():
        return Member(name, "symlink", info.linkname)
    if info.islnk():
        return Member(name, "hardlink", normalise_name(info.linkname, archive))
    if info.isdir():
        return Member(name, "dir")
    if info.isfile():
        return Member(name, "file")
    raise ArchiveError(f"{archive}: member {info.name!r} is a device, fifo or other special file; refusing the archive")


def _extract_tar(archive: Path, dest: Path, progress: bool) -> None:
    try:
        with tarfile.open(archive) as tf:
            infos = tf.getmembers()
            check_members([_tar_member(i, archive) for i in infos], archive)
            bar = tqdm(infos, desc=f"extract {archive.name}", unit="file", disable=not progress)
            tf.extractall(dest, members=bar, filter="data")
    except tarfile.FilterError as e:  # the second barrier caught something check_members let through
        raise ArchiveError(f"{archive}: unsafe member refused by tarfile's data filter: {e}") from None
    except (tarfile.TarError, EOFError) as e:
        raise ArchiveError(f"{archive}: unreadable tar archive: {e}") from None
