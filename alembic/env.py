"""Alembic environment: the URL comes from a passed connection, the config, or Soundalike settings."""

from sqlalchemy import Connection, engine_from_config, pool

from alembic import context
from soundalike.ingest.db.models import Base
from soundalike.ingest.settings import load_settings

config = context.config
target_metadata = Base.metadata


SCHEDULER_TABLES = frozenset({"apscheduler_jobs"})


def include_object(_object: object, name: str | None, type_: str, _reflected: bool, _compare_to: object) -> bool:
    """Leave the scheduler's job table, which APScheduler creates and owns, out of autogenerate."""
    return not (type_ == "table" and name in SCHEDULER_TABLES)


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_settings().db_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _migrate(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
