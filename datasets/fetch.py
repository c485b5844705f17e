"""Put a dataset's raw layout under data/raw/<name>/ from one source: synthetic, a local path, or a URL.

- synthetic: the dataset's synthetic writer (the datasets table; redbench.datasets.synthetic.generate) generates
  it (the embedded default).
- path: a local zip/tar archive (checked against `sha256` when given, extracted safely) or a folder, which is
  copied, not symlinked: DVC tracks data/raw/<name> as a stage output and must own real files.
  A relative path is relative to the working directory (the repository root under `dvc repro`).
- url: streamed to `<out>/../.downloads/` with a progress bar, resumed with an HTTP Range request from a
  `.part` file after an interruption, retried with exponential backoff, checked, extracted, then deleted
  (kept when extraction fails, so a retry need not download it again; deleted on a checksum mismatch).

Archives are extracted by redbench.datasets.archive (a single top-level folder is stripped). The result is
built in a staging folder beside the target; a completion marker (`.redbench-fetch.json`, holding the
source description) is written into it last, then it is renamed into place. A re-run whose source
description equals the marker's does nothing; a changed source (other config, path, URL, checksum, or
generator code) fetches again. An interrupted run leaves only a staging folder, which the next run removes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redbench._io import InputFileError, check_regular_file, new_mode, read_json, replace_dir, write_json_atomic
from redbench.config import param
from redbench.datasets.archive import ArchiveError, archive_kind, safe_extract, verify_sha256
from redbench.datasets.download import download

log = logging.getLogger(__name__)

SOURCES = ("synthetic", "path", "url")
MARKER = ".redbench-fetch.json"
MARKER_SCHEMA = 1


class FetchError(ValueError):
    """A fetch that cannot proceed: bad source config, missing input, or a target not made by fetch."""


def copy_folder(src: Path, dst: Path, where: str) -> None:
    """Copy folder `src` to `dst` (not existing yet) as real files, following symlinks only inside `src`.

    A link that leads outside `src` (e.g. to /etc) is refused rather than copied, and a symlink loop or a
    broken link is a FetchError naming the link, not a shutil traceback.
    """
    root = src.resolve()

    def resolved(p: Path) -> Path:
        try:
            t = p.resolve(strict=True)
        except (OSError, RuntimeError) as e:  # RuntimeError: a loop, on Pythons before 3.13
            raise FetchError(f"{where}: {p}: broken link or symlink loop ({e})") from None
        if t != root and root not in t.parents:
            raise FetchError(f"{where}: {p} links to {t}, outside {root}: refusing to copy it")
        return t

    def walk(folder: Path, out: Path, open_dirs: tuple[Path, ...]) -> None:
        out.mkdir()
        for p in sorted(folder.iterdir()):
            t = resolved(p)
            if t.is_dir():
                if t in open_dirs:
                    raise FetchError(f"{where}: {p} links back to {t}: symlink loop")
                walk(p, out / p.name, (*open_dirs, t))
            elif t.is_file():
                shutil.copy2(t, out / p.name)
            else:
                raise FetchError(f"{where}: {p} is not a regular file or folder")

    walk(root, dst, (root,))


@dataclass(frozen=True)
class FetchConfig:
    source: str = "synthetic"  # synthetic | path | url
    path: str | None = param(None, path=True)  # local archive or folder (source: path)
    url: str | None = None  # archive URL (source: url)
    sha256: str | None = None  # expected sha256 of the archive; checked when given

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.source == "path" and not self.path:
            raise ValueError("source 'path' needs 'path'")
        if self.source == "url" and not self.url:
            raise ValueError("source 'url' needs 'url'")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", self.sha256):
            raise ValueError(f"sha256 must be 64 hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class FetchResult:
    out_dir: Path
    skipped: bool  # True when the existing output was already complete for this source
    source: dict[str, Any]


def fetch_dataset(
    dataset: str,
    cfg: FetchConfig,
    out_dir: Path,
    synthetic_cfg: Any = None,
    progress: bool = False,
    retries: int = 5,
    backoff_s: float = 2.0,
) -> FetchResult:
    """Fetch `dataset` from `cfg`'s source into `out_dir` (see the module docstring)."""
    out_dir = Path(out_dir)
    source = describe_source(dataset, cfg, synthetic_cfg)
    if is_complete(out_dir, source):
        log.info("%s is up to date (%s source); nothing to do", out_dir, cfg.source)
        return FetchResult(out_dir, True, source)
    if out_dir.exists() and not (out_dir / MARKER).exists() and any(out_dir.iterdir()):
        raise FetchError(f"{out_dir}: exists but was not written by `redbench fetch`; move it away or delete it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.fetch-", dir=out_dir.parent))
    try:
        data = staging / "data"
        extra = _build(dataset, cfg, synthetic_cfg, data, out_dir.parent / ".downloads", progress, retries, backoff_s)
        marker = {"schema": MARKER_SCHEMA, "dataset": dataset, "source": source, **extra}
        write_json_atomic(data / MARKER, marker)  # last: its presence means complete
        os.chmod(data, new_mode(folder=True))  # a temporary folder's 0700 otherwise (synthetic, unwrapped archives)
        replace_dir(data, out_dir, staging / "previous")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("fetched %s into %s", dataset, out_dir)
    return FetchResult(out_dir, False, source)


def is_complete(out_dir: Path, source: dict[str, Any]) -> bool:
    """Whether `out_dir` holds a finished fetch of exactly this source."""
    try:
        marker = read_json(Path(out_dir) / MARKER, ValueError)
    except (OSError, ValueError):  # none, not JSON, or not a regular file
        return False
    return isinstance(marker, dict) and marker.get("source") == _jsonable(source)


def describe_source(dataset: str, cfg: FetchConfig, synthetic_cfg: Any = None) -> dict[str, Any]:
    """What the marker records: equal descriptions mean the same data, so a re-run can be skipped."""
    if cfg.source == "synthetic":
        if synthetic_cfg is None:
            raise FetchError(f"fetch.{dataset}: source 'synthetic' needs the synthetic config")
        config = dataclasses.asdict(synthetic_cfg) if dataclasses.is_dataclass(synthetic_cfg) else synthetic_cfg
        return _jsonable({"source": "synthetic", "config": config, "code": _synthetic_code_hash()})
    if cfg.source == "url":
        return {"source": "url", "url": cfg.url, "sha256": cfg.sha256}
    path = Path(cfg.path).resolve()
    if not path.exists():
        raise FetchError(f"fetch.{dataset}.path: {path} does not exist")
    if path.is_dir():
        if cfg.sha256 is not None:
            raise FetchError(f"fetch.{dataset}: sha256 applies to archives, but {path} is a folder")
        return {"source": "path", "path": str(path), "folder": _folder_fingerprint(path)}
    st = path.stat()
    return {"source": "path", "path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": cfg.sha256}


def _build(
    dataset: str, cfg: FetchConfig, synthetic_cfg: Any, data: Path, downloads: Path,
    progress: bool, retries: int, backoff_s: float,
) -> dict[str, Any]:
    """Write the raw layout into `data` (not existing yet); returns extra marker fields."""
    if cfg.source == "synthetic":
        from redbench.datasets.synthetic.generate import write_dataset  # only needed for this source

        data.mkdir()
        write_dataset(dataset, data, synthetic_cfg, progress)
        return {}
    if cfg.source == "path" and Path(cfg.path).is_dir():
        log.info("copying %s into place", cfg.path)
        copy_folder(Path(cfg.path), data, f"fetch.{dataset}.path")
        _refuse_empty(data, f"fetch.{dataset}.path: {cfg.path}")
        return {}
    if cfg.source == "path":
        archive = Path(cfg.path).resolve()
        try:
            check_regular_file(archive, what="archive")  # a FIFO would block the sha256 for ever
        except InputFileError as e:
            raise FetchError(f"fetch.{dataset}.path: {e}") from None
        if archive_kind(archive) is None:
            raise FetchError(f"fetch.{dataset}.path: {archive} is neither a folder nor a zip/tar archive")
        actual = verify_sha256(archive, cfg.sha256)
        safe_extract(archive, data, progress=progress)
        _refuse_empty(data, f"fetch.{dataset}.path: {archive}")
        return {"archive_sha256": actual}
    archive = download(
        cfg.url, downloads / _download_name(cfg.url), progress=progress, retries=retries, backoff_s=backoff_s
    )
    try:
        actual = verify_sha256(archive, cfg.sha256)
    except ArchiveError:
        archive.unlink()  # a wrong file must not be reused by the next run
        raise
    if archive_kind(archive) is None:
        raise FetchError(f"{cfg.url}: the download {archive} is not a zip or tar archive")
    safe_extract(archive, data, progress=progress)
    _refuse_empty(data, f"{cfg.url}: the download {archive}")
    archive.unlink()  # extracted and recorded; keeping a second copy of the release wastes the disk
    return {"archive_sha256": actual}


def _refuse_empty(data: Path, what: str) -> None:
    """An archive or folder with no file in it is no dataset: not recorded as fetched."""
    if not any(p.is_file() for p in data.rglob("*")):
        raise FetchError(f"{what} holds no files: nothing to fetch")


def _download_name(url: str) -> str:
    """A file name for the download unique to the URL (so a changed URL never reuses an old file)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]) or "download"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{base}"


def _remove_stale_staging(out_dir: Path) -> None:
    for p in out_dir.parent.glob(f".{out_dir.name}.fetch-*"):
        log.info("removing %s left by an interrupted fetch", p)
        shutil.rmtree(p, ignore_errors=True)


def _folder_fingerprint(folder: Path) -> str:
    """A cheap hash of the folder's file list, sizes and modification times."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _synthetic_code_hash() -> str:
    """A hash of the generator's source files, so a changed generator regenerates the data."""
    import importlib.util

    spec = importlib.util.find_spec("redbench.datasets.synthetic")
    h = hashlib.sha256()
    if spec is not None and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0])
        for p in sorted(folder.rglob("*.py")):
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _jsonable(obj: Any) -> Any:
    """The value as it reads back from JSON (tuples become lists), for comparison with a stored marker."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


__all__ = ["ArchiveError", "FetchConfig", "FetchError", "FetchResult", "describe_source", "fetch_dataset"]
