"""Whether the service can do its job: the database answers and the saved index is readable.

The served index lives in memory and keeps answering when its files or the database break; health says
so (``degraded``) instead of claiming all is well, so a load balancer or an operator can act.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from soundalike.index.track_index import check_files, read_meta
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.service import Service


def health_problems(service: Service) -> dict[str, str]:
    """What is wrong, by component (``database``, ``index``); empty when healthy."""
    problems: dict[str, str] = {}
    try:
        with session_scope(service.factory) as session:
            session.execute(select(Track.id).limit(1)).all()
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        problems["database"] = str(reason).splitlines()[0]
    problem = saved_index_problem(service.settings.index_dir, service.index.meta.model_name)
    if problem is not None:
        problems["index"] = problem
    if service.index.last_error and "index" not in problems:
        problems["index"] = f"the last reload failed: {service.index.last_error}"
    return problems


def saved_index_problem(directory: Path, model_name: str) -> str | None:
    """Why the saved index of ``model_name`` cannot be loaded, or None; checksums are verified once per
    version of the files (keyed by their sizes and modification times), not on every probe."""
    try:
        meta = read_meta(directory, model_name)
        signature = tuple((name, *_stat(directory / name)) for name in meta.files)
    except (SoundalikeError, OSError) as error:
        return str(error)
    return _checked(directory, model_name, signature)


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _checked(directory: Path, model_name: str, signature: tuple[tuple[str, int, int], ...]) -> str | None:
    try:
        check_files(directory, read_meta(directory, model_name))
    except SoundalikeError as error:
        return str(error)
    return None
