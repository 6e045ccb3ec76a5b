"""Creating the database engine: SQLite by default, PostgreSQL through a URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from app.store import jsoncodec

DEFAULT_DATABASE_URL = "sqlite:///./.baton/baton.db"

# Execution option a read-only unit sets, so SQLite starts it with a plain (deferred) BEGIN.
READ_ONLY_OPTION = "baton_read_only"


def create_store_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (default: ``./.baton/baton.db``) with JSON that keeps dates typed.

    For SQLite it also creates the file's folder and sets up WAL, foreign keys, a busy timeout and
    ``BEGIN IMMEDIATE`` for writing transactions (see :func:`_configure_sqlite`).
    """
    url_obj = make_url(url or DEFAULT_DATABASE_URL)
    options: dict[str, Any] = {
        "echo": echo,
        "json_serializer": jsoncodec.dumps,
        "json_deserializer": jsoncodec.loads,
    }
    if url_obj.get_backend_name() == "sqlite":
        database = url_obj.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url_obj, **options)
        _configure_sqlite(engine, in_memory=database in ("", ":memory:"))
        return engine
    return create_engine(url_obj, pool_pre_ping=True, **options)


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    """Make SQLite transactions real and safe for several worker processes.

    pysqlite by default defers BEGIN until the first write and never wraps DDL, so a migration or a
    unit of work could be half-applied. We take over BEGIN ourselves. Writers use BEGIN IMMEDIATE:
    with a deferred BEGIN, two processes that both read then write deadlock on the lock upgrade and
    one fails at once with "database is locked" instead of waiting out the busy timeout.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def redacted_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show nothing of it rather than risk a secret
        return "<unparsable database url>"
