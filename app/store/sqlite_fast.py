"""A driver-level executemany for the hottest statement on SQLite: a page of snapshot upserts.

Going through SQLAlchemy costs about as much per row as SQLite itself (parameter construction and
one bind processor per column). A sync stores pages of up to 10,000 records, so for SQLite the
upsert is sent straight to the driver. Values are encoded exactly as SQLAlchemy's types encode
them (see :func:`sqlite_datetime`), so rows written either way read back and compare the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy.engine import Connection

from app.store import jsoncodec
from connectors.records import Record

_SNAPSHOT_UPSERT = (
    "INSERT INTO record_snapshots (crm, object, record_id, kind, raw, fields, modified_at, deleted,"
    " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (crm, object, record_id) DO UPDATE SET kind = excluded.kind, raw = excluded.raw,"
    " fields = excluded.fields, modified_at = excluded.modified_at, deleted = excluded.deleted,"
    " last_seen = excluded.last_seen"
    # A page read earlier but stored later must not roll a snapshot back to an older state.
    " WHERE excluded.modified_at >= record_snapshots.modified_at"
)


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy stores for a :class:`~app.store.types.UtcDateTime` on SQLite: naive UTC,
    always with microseconds (so that text comparison is time comparison)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


def upsert_snapshots(connection: Connection, records: Iterable[Record], seen_at: datetime) -> None:
    """Upsert the snapshots of ``records`` with one executemany (first/last seen: ``seen_at``)."""
    dumps, seen = jsoncodec.dumps, sqlite_datetime(seen_at)
    params = [
        (
            str(r.crm),
            r.object,
            r.id,
            str(r.kind),
            dumps(r.raw),
            dumps(r.fields),
            sqlite_datetime(r.modified_at),
            1 if r.deleted else 0,
            seen,
            seen,
        )
        for r in records
    ]
    if params:
        connection.exec_driver_sql(_SNAPSHOT_UPSERT, params)
