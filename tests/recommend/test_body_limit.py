"""Request bodies are capped while they stream in: a chunked body past the cap is refused and the
server's memory stays flat, on a real uvicorn server in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.servers import free_port

BODY_CAP = 1 << 20
UPLOAD_CAP = 2 << 20
SENT_BYTES = 200 << 20
RSS_GROWTH_LIMIT = 40 << 20
TESTS = Path(__file__).resolve().parents[1]
UPLOAD_HEAD = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.ogg"\r\nContent-Type: audio/ogg\r\n\r\n'
)
SERVER = textwrap.dedent(
    """
    import uvicorn
    from support.recommend_fixtures import make_catalogue
    from soundalike.ingest.settings import Settings
    from soundalike.recommend.api.app import create_app

    settings = Settings(home={home!r}, database_url="sqlite:///{home}/api.db", embedding_model="mfcc-stats")
    catalogue = make_catalogue(settings)
    app = create_app(settings, service=catalogue.service, max_body_bytes={body}, max_upload_bytes={upload})
    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
    """
)


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("limit-home")
    port = free_port()
    script = SERVER.format(
        home=str(home),
        body=BODY_CAP,
        upload=UPLOAD_CAP,
        port=port,
    )
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(TESTS)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, "server did not start"
        time.sleep(0.1)
    yield base, process.pid
    process.terminate()
    process.wait(10)


def chunked_post(port: int, path: str, content_type: str, prefix: bytes, total: int) -> bytes:
    """POST ``total`` bytes with chunked transfer encoding over a raw socket; what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        chunk = b"x" * (1 << 16)
        sent = 0
        try:
            sock.sendall(f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n")
            while sent < total:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            return b""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "content_type", "prefix"),
    [
        ("/users/ann/events", "application/json", b'{"events": ['),
        ("/similar/audio", "multipart/form-data; boundary=xyz", UPLOAD_HEAD),
    ],
)
def test_a_chunked_body_past_the_cap_is_refused_with_memory_flat(
    server: tuple[str, int], path: str, content_type: str, prefix: bytes
) -> None:
    base, pid = server
    port = int(base.rsplit(":", 1)[1])
    before = peak_rss(pid)
    answer = chunked_post(port, path, content_type, prefix, SENT_BYTES)
    assert answer.startswith(b"HTTP/1.1 413") and b"PayloadTooLarge" in answer, answer[:200]
    assert peak_rss(pid) - before < RSS_GROWTH_LIMIT
    assert httpx.get(base + "/health", timeout=10).status_code == 200


def test_a_declared_length_past_the_cap_is_refused_before_reading(server: tuple[str, int]) -> None:
    base, _ = server
    response = httpx.post(base + "/users/ann/events", content=b"{" + b" " * (BODY_CAP + 10) + b"}")
    assert response.status_code == 413 and response.json()["type"] == "PayloadTooLarge"
