"""Ways tests reach the API: ``soundalike serve`` in a subprocess, a real uvicorn server on loopback in a thread,
or the app in process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from soundalike.ingest.settings import Settings

LOOPBACK = "http://127.0.0.1"
"""Base URL of in-process clients: its ``Host`` is one the app answers by default."""


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[int]:
    """``app`` under uvicorn on loopback in a thread; yields its port and stops it afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def in_process(app: FastAPI) -> Callable[..., httpx.Response]:
    """A request function against ``app`` in process, as the remote client ``192.0.2.7`` would reach it."""

    def request(method: str, path: str, **kwargs: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 50000))
            async with httpx.AsyncClient(transport=transport, base_url=LOOPBACK) as client:
                return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

        return asyncio.run(send())

    return request


@contextmanager
def serving(settings: Settings, count: int = 1) -> Iterator[str]:
    """``soundalike serve --workers count`` in a subprocess; yields its base URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "SOUNDALIKE_DATABASE_URL": settings.db_url,
        "SOUNDALIKE_EMBEDDING_MODEL": settings.embedding_model,
        "SOUNDALIKE_INDEX_WATCH_S": "0.2",
    }
    script = str(Path(sys.executable).parent / "soundalike")
    command = [script, "--home", str(settings.home), "serve", "--port", str(port), "--workers", str(count)]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(30)
