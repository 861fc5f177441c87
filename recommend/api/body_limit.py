"""Request bodies capped while they stream in, whatever their framing (Content-Length or chunked).

An ASGI middleware: a declared length over the cap is refused before a byte is read; otherwise bytes are
counted as they arrive, and at the first byte past the cap the client gets 413 and the application sees a
disconnect, so neither memory nor the upload spool grows past the cap.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART = b"multipart/form-data"


def too_large(limit: int) -> tuple[Message, Message]:
    """The 413 response messages with a JSON body."""
    body = json.dumps({"error": f"request body larger than {limit} bytes", "type": "PayloadTooLarge"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return (
        {"type": "http.response.start", "status": 413, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


class BodyLimit:
    """Cap request bodies: ``upload_bytes`` for multipart uploads, ``body_bytes`` for everything else."""

    def __init__(self, app: ASGIApp, *, body_bytes: int, upload_bytes: int) -> None:
        """Wrap ``app`` with the two caps."""
        self.app = app
        self.body_bytes = body_bytes
        self.upload_bytes = upload_bytes

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
        state: dict[str, Any] = {"seen": 0, "started": False, "refused": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not state["refused"]:
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["refused"] = True
                    if not state["started"]:
                        for reply in too_large(limit):
                            await send(reply)
                        state["started"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
