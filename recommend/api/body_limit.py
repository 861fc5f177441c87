"""Request bodies capped while they stream in, whatever their framing (Content-Length or chunked).

An ASGI middleware: a declared length over the cap is refused before a byte is read; otherwise bytes are
counted as they arrive, and at the first byte past the cap the client gets 413 and the application sees a
disconnect, so neither memory nor the upload spool grows past the cap. A body that stops arriving for
``idle_s`` seconds is answered 408 the same way, so a slow sender cannot hold a request slot.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART = b"multipart/form-data"
IDLE_S = 30.0


def refusal(status: int, error: str, kind: str) -> tuple[Message, Message]:
    """The response messages of a refused body, with a JSON body."""
    body = json.dumps({"error": error, "type": kind}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


def too_large(limit: int) -> tuple[Message, Message]:
    """The 413 response messages."""
    return refusal(413, f"request body larger than {limit} bytes", "PayloadTooLarge")


class BodyLimit:
    """Cap request bodies: ``upload_bytes`` for multipart uploads, ``body_bytes`` for everything else."""

    def __init__(self, app: ASGIApp, *, body_bytes: int, upload_bytes: int, idle_s: float = IDLE_S) -> None:
        """Wrap ``app`` with the two caps and the longest pause within a body."""
        self.app = app
        self.body_bytes = body_bytes
        self.upload_bytes = upload_bytes
        self.idle_s = idle_s

    def limit_for(self, scope: Scope) -> int:
        """The cap that applies to this request."""
        headers = dict(scope["headers"])
        return self.upload_bytes if headers.get(b"content-type", b"").startswith(MULTIPART) else self.body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting ``receive``; answer 413 at the first byte past the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            for message in too_large(limit):
                await send(message)
            return
        state: dict[str, Any] = {"seen": 0, "started": False, "refused": False, "complete": False}

        async def refuse(replies: tuple[Message, Message]) -> Message:
            state["refused"] = True
            if not state["started"]:
                for reply in replies:
                    await send(reply)
                state["started"] = True
            return {"type": "http.disconnect"}

        async def counting_receive() -> Message:
            if state["complete"] or state["refused"]:
                return await receive()
            with anyio.move_on_after(self.idle_s):
                message = await receive()
                if message["type"] == "http.request":
                    state["seen"] += len(message.get("body", b""))
                    state["complete"] = not message.get("more_body", False)
                    if state["seen"] > limit:
                        return await refuse(too_large(limit))
                return message
            return await refuse(refusal(408, f"no request body bytes for {self.idle_s:g} s", "RequestTimeout"))

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
