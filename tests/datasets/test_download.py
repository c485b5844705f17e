"""Resumable downloads against a local HTTP server that supports (or ignores) Range requests."""

from __future__ import annotations

import http.server
import threading

import pytest

from redbench.datasets.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes


class FileServer:
    """Serves PAYLOAD at /data.zip; can cut the first `drop_after` bytes' response short, or ignore Range."""

    def __init__(self, payload: bytes = PAYLOAD, drop_after: int | None = None, honour_range: bool = True,
                 fail_first: int = 0, status: int = 200):
        self.payload, self.drop_after, self.honour_range = payload, drop_after, honour_range
        self.fail_first, self.status = fail_first, status
        self.ranges: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.ranges.append(self.headers.get("Range"))
                if server.status != 200:
                    self.send_error(server.status)
                    return
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_error(503)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and server.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(server.payload)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drop_after is not None:
                    cut, server.drop_after = server.drop_after, None  # only the first response is cut
                    self.wfile.write(body[:cut])
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_plain_download(tmp_path):
    with FileServer() as server:
        path = download(server.url, tmp_path / "d" / "data.zip", backoff_s=0)
    assert path.read_bytes() == PAYLOAD and server.ranges == [None]
    assert not (tmp_path / "d" / "data.zip.part").exists()


def test_interrupted_download_resumes_with_a_range_request(tmp_path):
    with FileServer(drop_after=30_000) as server:
        path = download(server.url, tmp_path / "data.zip", backoff_s=0)
    assert path.read_bytes() == PAYLOAD
    assert server.ranges == [None, "bytes=30000-"]  # the second request asks only for the rest


def test_a_part_file_from_an_earlier_run_is_resumed(tmp_path):
    (tmp_path / "data.zip.part").write_bytes(PAYLOAD[:50_000])
    with FileServer() as server:
        download(server.url, tmp_path / "data.zip", backoff_s=0)
    assert (tmp_path / "data.zip").read_bytes() == PAYLOAD and server.ranges == ["bytes=50000-"]


def test_a_complete_part_file_is_finished_without_a_body(tmp_path):
    (tmp_path / "data.zip.part").write_bytes(PAYLOAD)
    with FileServer() as server:
        download(server.url, tmp_path / "data.zip", backoff_s=0)
    assert (tmp_path / "data.zip").read_bytes() == PAYLOAD and server.ranges == [f"bytes={len(PAYLOAD)}-"]


def test_a_server_that_ignores_range_restarts_the_file(tmp_path):
    (tmp_path / "data.zip.part").write_bytes(b"stale bytes from somewhere else")
    with FileServer(honour_range=False) as server:
        download(server.url, tmp_path / "data.zip", backoff_s=0)
    assert (tmp_path / "data.zip").read_bytes() == PAYLOAD


def test_transient_errors_are_retried_and_client_errors_are_not(tmp_path):
    with FileServer(fail_first=2) as server:
        download(server.url, tmp_path / "a.zip", retries=3, backoff_s=0)
    assert (tmp_path / "a.zip").read_bytes() == PAYLOAD and len(server.ranges) == 3
    with FileServer(fail_first=5) as server:
        with pytest.raises(DownloadError, match="HTTP 503"):
            download(server.url, tmp_path / "b.zip", retries=2, backoff_s=0)
    assert len(server.ranges) == 3 and not (tmp_path / "b.zip").exists()
    with FileServer(status=404) as server:
        with pytest.raises(DownloadError, match=r"data\.zip: HTTP 404"):
            download(server.url, tmp_path / "c.zip", retries=3, backoff_s=0)
    assert len(server.ranges) == 1


def test_an_existing_complete_file_is_not_downloaded_again(tmp_path):
    (tmp_path / "data.zip").write_bytes(b"done")
    with FileServer() as server:
        download(server.url, tmp_path / "data.zip")
    assert server.ranges == [] and (tmp_path / "data.zip").read_bytes() == b"done"
