"""Dialect-aware statement helpers (upserts) shared by the store's query modules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

T = TypeVar("T")

# Ids per IN (...) list: SQLite's default limit on bound parameters is far above this, and PG plans
# moderate lists well.
ID_CHUNK = 500


def _insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {connection.dialect.name}")


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> None:
    """INSERT .. ON CONFLICT (keys) DO UPDATE SET update-columns, as one executemany.

    ``where`` (a function of (table, excluded)) limits which conflicting rows are updated.
    """
    if not rows:
        return
    stmt = _insert(connection, table)
    condition = where(table, stmt.excluded) if where is not None else None
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in update}, where=condition
    )
    connection.execute(stmt, list(rows))


def insert_ignoring_conflicts(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT .. ON CONFLICT (keys) DO NOTHING, as one executemany."""
    if not rows:
        return
    stmt = _insert(connection, table).on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(stmt, list(rows))


def chunks(items: Sequence[T], size: int = ID_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
