"""Record snapshots: the last state read of every CRM record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update

from app.store.base import StoreMixin
from app.store.entities import Snapshot
from app.store.models import RecordSnapshot, table
from app.store.sql import chunks, upsert
from app.store.sqlite_fast import upsert_snapshots
from app.store.types import utc_now
from connectors.records import Record

_T = table(RecordSnapshot)
_UPDATED_ON_CONFLICT = ("kind", "raw", "fields", "modified_at", "deleted", "last_seen")


def _row(record: Record, seen_at: datetime) -> dict[str, Any]:
    return {
        "crm": str(record.crm),
        "object": record.object,
        "record_id": record.id,
        "kind": str(record.kind),
        "raw": record.raw,
        "fields": record.fields,
        "modified_at": record.modified_at,
        "deleted": record.deleted,
        "first_seen": seen_at,
        "last_seen": seen_at,
    }


def _snapshot(row: Any) -> Snapshot:
    return Snapshot(
        crm=row.crm,
        object=row.object,
        id=row.record_id,
        kind=row.kind,
        fields=row.fields,
        raw=row.raw,
        modified_at=row.modified_at,
        deleted=row.deleted,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


def _not_older(table: Any, excluded: Any) -> Any:
    # A page read earlier but stored later (a slow job, a webhook fetch racing a sync) must not
    # roll a snapshot back to an older state.
    return excluded.modified_at >= table.c.modified_at


class SnapshotsMixin(StoreMixin):
    def upsert_records(self, records: Iterable[Record], *, seen_at: datetime | None = None) -> int:
        """Insert or update the snapshots of a page of records in one statement; returns the count.

        ``first_seen`` is kept from the first insert. A record older than its stored snapshot
        (by ``modified_at``) does not replace it. Duplicate ids in one page: the last one wins.
        """
        seen_at = seen_at or utc_now()
        latest = {(r.crm, r.object, r.id): r for r in records}
        with self._begin() as connection:
            if connection.dialect.name == "sqlite":
                upsert_snapshots(connection, latest.values(), seen_at)
                return len(latest)
            upsert(
                connection,
                _T,
                [_row(r, seen_at) for r in latest.values()],
                keys=("crm", "object", "record_id"),
                update=_UPDATED_ON_CONFLICT,
                where=_not_older,
            )
        return len(latest)

    def mark_deleted(
        self, crm: str, object: str, ids: Sequence[str], *, seen_at: datetime | None = None
    ) -> int:
        """Flag stored snapshots as deleted (the CRM deleted or archived them); returns rows changed."""
        seen_at, changed = seen_at or utc_now(), 0
        with self._begin() as connection:
            for chunk in chunks(list(ids)):
                result = connection.execute(
                    update(_T)
                    .where(_T.c.crm == crm, _T.c.object == object, _T.c.record_id.in_(chunk))
                    .values(deleted=True, last_seen=seen_at)
                )
                changed += result.rowcount or 0
        return changed

    def get_snapshots(self, crm: str, object: str, ids: Sequence[str]) -> dict[str, Snapshot]:
        """The stored snapshots of the given record ids (missing ids are absent from the answer)."""
        found: dict[str, Snapshot] = {}
        with self._begin(read_only=True) as connection:
            for chunk in chunks(list(dict.fromkeys(ids))):
                rows = connection.execute(
                    select(_T).where(_T.c.crm == crm, _T.c.object == object, _T.c.record_id.in_(chunk))
                )
                found.update((row.record_id, _snapshot(row)) for row in rows)
        return found

    def iter_snapshots(
        self,
        kind: str | None = None,
        *,
        crm: str | None = None,
        object: str | None = None,
        include_deleted: bool = False,
        batch_size: int = 1000,
    ) -> Iterator[list[Snapshot]]:
        """Every stored snapshot matching the filters, in pages ordered by (crm, object, id).

        Each page is read in its own short transaction (keyset paging), so a long dry run holds
        no lock and sees rows committed while it runs.
        """
        after: tuple[str, str, str] | None = None
        while True:
            query = self._snapshot_query(kind, crm, object, include_deleted)
            if after is not None:
                query = query.where(tuple_(_T.c.crm, _T.c.object, _T.c.record_id) > after)
            query = query.order_by(_T.c.crm, _T.c.object, _T.c.record_id).limit(batch_size)
            with self._begin(read_only=True) as connection:
                page = [_snapshot(row) for row in connection.execute(query)]
            if not page:
                return
            yield page
            after = (page[-1].crm, page[-1].object, page[-1].id)

    def count_snapshots(
        self,
        kind: str | None = None,
        *,
        crm: str | None = None,
        object: str | None = None,
        include_deleted: bool = False,
    ) -> int:
        """How many snapshots match the filters."""
        query = self._snapshot_query(kind, crm, object, include_deleted).with_only_columns(func.count())
        with self._begin(read_only=True) as connection:
            return int(connection.execute(query).scalar_one())

    @staticmethod
    def _snapshot_query(kind: str | None, crm: str | None, object: str | None, include_deleted: bool) -> Any:
        conditions = [
            column == value
            for column, value in ((_T.c.kind, kind), (_T.c.crm, crm), (_T.c.object, object))
            if value is not None
        ]
        if not include_deleted:
            conditions.append(_T.c.deleted.is_(False))
        return select(_T).where(and_(True, *conditions))
