"""Atomic file writes and checksums: an interrupted run never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator


def new_mode(folder: bool = False) -> int:
    """The mode a plain open() or mkdir() would give a new file or folder under the process's umask.

    mkstemp and mkdtemp create 0600 / 0700; what they make is chmod-ed to this before it is renamed into place.
    """
    umask = os.umask(0o022)  # read it (os has no getter): set, then restore at once
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, on error remove it (and the
    folders made for it).

    The rename is atomic on POSIX, so readers see either the old file or the complete new one.
    """
    path = Path(path)
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the result the usual permissions of a new file.
        os.chmod(tmp_path, new_mode())
        os.replace(tmp_path, path)
    except BaseException as e:
        tmp_path.unlink(missing_ok=True)
        for p in created:  # innermost first; a folder something else wrote into meanwhile stays
            with contextlib.suppress(OSError):
                p.rmdir()
        if isinstance(e, OSError) and e.filename in (None, str(tmp_path)):  # e.g. a full disk: name the file
            raise named_os_error(e, path) from None
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def torch_save_atomic(obj: object, path: str | os.PathLike) -> None:
    """torch.save `obj` into memory, then write the bytes atomically.

    Saved straight to a file, torch's zip names its inner folder after that file, so a temporary file's
    random name would make two identical saves differ; from a buffer the folder is always "archive".
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def write_json_atomic(path: str | os.PathLike, obj: object) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def replace_dir(new: str | os.PathLike, target: str | os.PathLike, aside: str | os.PathLike) -> None:
    """Rename folder `new` onto `target`, moving an existing `target` to `aside` first (restored if the swap fails).

    All three paths must be on one filesystem; the caller removes `aside` once it no longer needs the old copy.
    """
    new, target, aside = Path(new), Path(target), Path(aside)
    if target.exists():
        os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        if aside.exists() and not target.exists():
            os.rename(aside, target)
        raise


def discard_h5(f, path: str | os.PathLike | None = None) -> None:
    """Close h5py File `f` (open on `path`) whose output is being thrown away, after an error (often a full
    disk); never raises.

    HDF5 flushes its caches when a file closes. On a full disk that flush fails, and a file whose close failed
    crashes the process (a segmentation fault) when h5py frees its objects later. The file's descriptor is
    pointed at /dev/null first, so the flush goes nowhere and the close completes; the caller then removes the
    temporary file, whose content did not matter. Where h5py no longer gives the descriptor (its own close
    already failed), the descriptors open on `path` are found in /proc/self/fd.
    """
    fds = []
    try:
        fds = [f.id.get_vfd_handle()]  # the POSIX descriptor of HDF5's default (sec2) driver
    except Exception:  # noqa: BLE001 (an id h5py invalidated in a failed close)
        fds = _fds_open_on(path) if path is not None else []
    for fd in fds:
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
    with contextlib.suppress(Exception):
        f.close()


def _fds_open_on(path: str | os.PathLike) -> list[int]:
    """This process's file descriptors open on `path` (Linux: /proc/self/fd; elsewhere none are found)."""
    target = os.path.realpath(path)
    out = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{name}") == target:
                    out.append(int(name))
    return out


def named_os_error(e: Exception, path: str | os.PathLike) -> OSError:
    """`e` (an OSError, or h5py's RuntimeError from a failed write) as an OSError naming `path`, with the
    system's short message: HDF5's own runs to several lines and names its temporary file."""
    code = getattr(e, "errno", None)
    if code is None:  # HDF5 puts the system's errno into its message
        m = re.search(r"errno = (\d+)", str(e))
        code = int(m.group(1)) if m else None
    text = os.strerror(code) if code else (str(e).splitlines() or [type(e).__name__])[0]
    return OSError(code, text, str(path))


class ForeignFilesError(ValueError):
    """A stage's output folder holds files the stage did not write: it refuses rather than delete them."""


def _foreign(target: Path, owned: Callable[[str], bool]) -> list[str]:
    if not target.is_dir():
        return [] if not target.exists() else [str(target)]
    out = []
    for p in sorted(target.rglob("*")):
        rel = p.relative_to(target).as_posix()
        if (p.is_file() or p.is_symlink()) and not owned(rel):
            out.append(rel)
    return out


@contextlib.contextmanager
def staged_dir(target: str | os.PathLike, owned: Callable[[str], bool], what: str) -> Iterator[Path]:
    """Yield an empty staging folder beside `target`; on success swap it in whole, on error remove it.

    A killed stage thus leaves the previous complete output or nothing. `owned(relative posix path)` says
    which files of an existing `target` this stage wrote; any other file makes it refuse (ForeignFilesError
    naming them) before and again just before the swap, so it never deletes what it did not write.
    Folders created above `target` are removed again when the stage fails.
    """
    target = Path(target)

    def refuse_foreign() -> None:
        foreign = _foreign(target, owned)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ForeignFilesError(f"{target}: holds {len(foreign)} file(s) that {what} did not write ({shown}); "
                                    "move them away or choose another output folder")

    refuse_foreign()
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.st-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.st-new-", dir=target.parent))
    aside = stage.with_name(stage.name.replace(".st-new-", ".st-old-"))
    try:
        yield stage
        refuse_foreign()
        os.chmod(stage, new_mode(folder=True))  # mkdtemp creates 0700
        replace_dir(stage, target, aside)
    except BaseException as e:
        shutil.rmtree(stage, ignore_errors=True)
        for p in created:  # innermost first
            with contextlib.suppress(OSError):
                p.rmdir()
        if isinstance(e, OSError) and e.filename is not None and stage in Path(e.filename).parents:
            # e.g. a full disk: name the output as the user knows it, not the staging folder that is gone
            raise OSError(e.errno, e.strerror, str(target / Path(e.filename).relative_to(stage))) from None
        raise
    shutil.rmtree(aside, ignore_errors=True)


class InputFileError(ValueError):
    """An input that is not a regular file (a FIFO, device or socket, or a link to one) or is too large to be
    what it claims; refused before it is opened or read."""


# The bound of a JSON file the suite reads (manifests, train_info, metrics, references): the largest written
# (a reference run's metrics.json) is about 3 MB.
MAX_JSON_BYTES = 256 * 2**20


def check_regular_file(path: str | os.PathLike, max_bytes: int | None = None, what: str = "file") -> int:
    """The size of `path` after refusing (InputFileError) anything but a regular file, or one over max_bytes.

    Checked before opening: opening a FIFO blocks for ever, and reading /dev/zero never ends; a symlink is
    followed (one to a regular file is fine). A missing file raises FileNotFoundError.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} not found") from None
    except OSError as e:
        raise InputFileError(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise InputFileError(f"{path}: the {what} is {kind}, not a regular file; refused")
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputFileError(f"{path}: the {what} has {st.st_size:,} bytes, more than the {max_bytes:,} "
                             "such a file can have; refused")
    return st.st_size


def read_json(path: str | os.PathLike, error: type[Exception], missing: str = "file not found",
              max_bytes: int = MAX_JSON_BYTES) -> object:
    """Parse a JSON file; a missing file raises FileNotFoundError, bad JSON (or a file that is not JSON text)
    `error`, a special or oversized file InputFileError, each naming the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {missing}")
    check_regular_file(path, max_bytes, "JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON: {e}") from None
    except RecursionError:
        raise error(f"{path}: not valid JSON: nested too deeply") from None


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
