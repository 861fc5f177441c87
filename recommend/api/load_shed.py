"""Load shedding: a server process works on a bounded number of requests, lets a bounded line wait for a turn,
and answers the rest 503 with ``Retry-After`` at once instead of letting them pile up.

``/health`` never waits in line, so a load balancer hears from a busy server within its probe timeout.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_S = 1
EXEMPT = frozenset({"/health"})
BUSY = json.dumps({"error": "the server is busy; try again shortly", "type": "Busy"}).encode()


class LoadShed:
    """ASGI middleware: ``running`` requests at once, up to ``waiting`` more in line for at most ``wait_s`` each;
    a request that finds the line full or waits too long gets 503 JSON with ``Retry-After``."""

    def __init__(self, app: ASGIApp, *, running: int, waiting: int, wait_s: float) -> None:
        """Wrap ``app`` with the limits of one server process."""
        self.app = app
        self.running, self.waiting, self.wait_s = running, waiting, wait_s
        self.in_line = 0
        self._turns: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request when its turn comes, or shed it."""
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = anyio.Semaphore(self.running)
        turns = self._turns
        if turns.value == 0 and self.in_line >= self.waiting:
            await busy(send)
            return
        got_turn = False
        self.in_line += 1
        try:
            with anyio.move_on_after(self.wait_s):
                await turns.acquire()
                got_turn = True
        finally:
            self.in_line -= 1
        if not got_turn:
            await busy(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            turns.release()


async def busy(send: Send) -> None:
    """Answer 503 JSON with ``Retry-After``."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BUSY)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": BUSY})
