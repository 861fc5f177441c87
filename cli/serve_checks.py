"""What ``serve`` checks before any server process starts, so a server that could not work is refused (exit 2)."""

from __future__ import annotations

import socket

from soundalike.ingest.db.session import close_database, open_database
from soundalike.ingest.errors import ConfigError, DatabaseError
from soundalike.ingest.settings import Settings
from soundalike.recommend.health import DatabaseCheck


def check_can_serve(settings: Settings, host: str, port: int) -> None:
    """Raise when the address cannot be listened on, or the database cannot be opened, is damaged or refuses writes."""
    check_port(host, port)
    close_database(open_database(settings.db_url))
    check = DatabaseCheck(settings.db_url)
    try:
        problem = check.answers() or check.sound()
    finally:
        check.close()
    if problem is not None:
        raise DatabaseError(f"the database cannot be used: {problem}")


def check_port(host: str, port: int) -> None:
    """Raise ``ConfigError`` when ``host``:``port`` cannot be bound (in use, not an address of this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error} (--host, --port)") from error
