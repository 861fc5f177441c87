"""The Host allow-list: a request naming another host is refused before it reaches a route.

A page on another site can point its own domain name at this machine (DNS rebinding) and then read the API
as if it were on loopback; its requests still carry that domain in ``Host``. So only loopback names, the
interface the server listens on and the operator's ``SOUNDALIKE_ALLOWED_HOSTS`` are answered; any other
``Host`` gets 400 JSON.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

ANY_HOST = "*"


def host_name(header: str) -> str:
    """The name a ``Host`` header gives, in lower case, without its port, IPv6 brackets or final dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.partition(":")[0].rstrip(".")


def is_loopback_name(name: str) -> bool:
    """Whether a host name is ``localhost`` or a loopback address (a name like ``127.evil.example`` is not)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class TrustedHosts:
    """Answer only requests whose ``Host`` is loopback or one of ``names`` (``*``: any)."""

    def __init__(self, app: ASGIApp, *, names: Iterable[str]) -> None:
        """Wrap ``app``; ``names`` are host names or addresses as a ``Host`` header gives them, ports ignored."""
        self.app = app
        self.names = frozenset(host_name(name) for name in names if name.strip())

    def allows(self, header: str) -> bool:
        """Whether a request with this ``Host`` header is answered."""
        name = host_name(header)
        return bool(name) and (is_loopback_name(name) or name in self.names or ANY_HOST in self.names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an allowed request on; answer any other with 400 JSON naming the host."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if self.allows(header):
            await self.app(scope, receive, send)
            return
        error = f"host {header!r} is not served here: the operator adds it to SOUNDALIKE_ALLOWED_HOSTS"
        body = json.dumps({"error": error, "type": "HostNotAllowed"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
