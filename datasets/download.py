"""Resumable HTTP(S) downloads: a `.part` file, HTTP Range resume, retries with exponential backoff.

The bytes go to `<dest>.part`; only a download whose length matches the server's is renamed to `dest`, so a
file at `dest` is always complete. After an interruption the next attempt (or the next run) asks for
`Range: bytes=<size of .part>-`; a server that ignores the range (200 instead of 206) restarts the file.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_RETRYABLE_HTTP = (408, 425, 429, 500, 502, 503, 504)


class DownloadError(OSError):
    """A download that failed for good (a client error, or retries exhausted); the message names the URL."""


class _Incomplete(Exception):
    """The connection ended before the advertised length; retried."""


def download(
    url: str,
    dest: Path,
    progress: bool = False,
    retries: int = 5,
    backoff_s: float = 2.0,
    timeout_s: float = 60.0,
) -> Path:
    """Download `url` to `dest` (resuming `dest.part`), retrying up to `retries` times; returns `dest`."""
    dest = Path(dest)
    if dest.exists():
        log.info("%s already downloaded", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _attempt(url, part, progress, timeout_s)
            break
        except urllib.error.HTTPError as e:
            if e.code not in _RETRYABLE_HTTP or attempt == retries:
                raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
            error: Exception = e
        except (urllib.error.URLError, OSError, http.client.HTTPException, _Incomplete) as e:
            if attempt == retries:
                raise DownloadError(f"{url}: download failed after {retries} retries: {e}") from None
            error = e
        delay = backoff_s * 2**attempt
        log.warning("%s: %s; retrying in %.1f s (%d/%d)", url, error, delay, attempt + 1, retries)
        time.sleep(delay)
    os.replace(part, dest)
    return dest


def _attempt(url: str, part: Path, progress: bool, timeout_s: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "redbench-fetch", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left past `have`: complete if the server's total says so
            if _content_range(e.headers.get("Content-Range", ""))[2] == have:
                return
            part.unlink()
            raise _Incomplete("the server refused the resume range; starting over") from None
        raise
    with response:
        start, _, total = _content_range(response.headers.get("Content-Range", ""))
        if have and response.status == 206 and start == have:
            mode = "ab"
        else:
            if have:
                log.info("%s: the server does not resume; downloading from the start", url)
            mode, have = "wb", 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        with open(part, mode) as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress
        ) as bar:
            while block := response.read(_CHUNK):
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Incomplete(f"received {size} of {total} bytes")


def _content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """(start, end, total) of a `Content-Range: bytes start-end/total` or `bytes */total` header."""
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None, None
    start, end, total = (int(g) if g and g != "*" else None for g in m.groups())
    return start, end, total
