"""What Baton last wrote to each field, and the fields a person changed by hand (holds).

The planner compares a record's current value with the value Baton last wrote: if they differ,
a person changed the field after Baton, and Baton holds off that field for the hold period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from app.store.base import StoreMixin
from app.store.entities import Hold, LastWrite
from app.store.models import LastWrittenValue, ManualHold, table
from app.store.sql import chunks, upsert
from app.store.types import utc_now

_W = table(LastWrittenValue)
_H = table(ManualHold)
_KEY = ("crm", "object", "record_id", "field")


def _group(rows: Iterable[Any], make: Any) -> dict[str, dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        grouped.setdefault(row.record_id, {})[row.field] = make(row)
    return grouped


class WritesMixin(StoreMixin):
    def record_written_values(self, writes: Iterable[LastWrite]) -> int:
        """Remember the values Baton wrote (one row per record field, the latest wins)."""
        rows = {
            (w.crm, w.object, w.record_id, w.field): {
                "crm": w.crm,
                "object": w.object,
                "record_id": w.record_id,
                "field": w.field,
                "value": w.value,
                "written_at": w.written_at,
                "decision_id": w.decision_id,
            }
            for w in writes
        }
        with self._begin() as connection:
            upsert(
                connection, _W, list(rows.values()), keys=_KEY, update=("value", "written_at", "decision_id")
            )
        return len(rows)

    def last_written_values(
        self, crm: str, object: str, ids: Sequence[str]
    ) -> dict[str, dict[str, LastWrite]]:
        """``{record_id: {field: LastWrite}}`` for the given records (records never written are absent)."""

        def make(row: Any) -> LastWrite:
            return LastWrite(
                row.crm, row.object, row.record_id, row.field, row.value, row.written_at, row.decision_id
            )

        with self._begin(read_only=True) as connection:
            result: dict[str, dict[str, LastWrite]] = {}
            for chunk in chunks(list(ids)):
                rows = connection.execute(
                    select(_W).where(_W.c.crm == crm, _W.c.object == object, _W.c.record_id.in_(chunk))
                )
                result.update(_group(rows, make))
            return result

    def set_holds(self, holds: Iterable[Hold]) -> int:
        """Create or replace manual-change holds (one per record field)."""
        now = utc_now()
        rows = {
            (h.crm, h.object, h.record_id, h.field): {
                "crm": h.crm,
                "object": h.object,
                "record_id": h.record_id,
                "field": h.field,
                "observed_value": h.observed_value,
                "held_since": h.held_since or now,
                "held_until": h.held_until,
                "reason": h.reason,
            }
            for h in holds
        }
        with self._begin() as connection:
            upsert(
                connection,
                _H,
                list(rows.values()),
                keys=_KEY,
                update=("observed_value", "held_since", "held_until", "reason"),
            )
        return len(rows)

    def active_holds(
        self, crm: str, object: str, ids: Sequence[str], *, at: datetime | None = None
    ) -> dict[str, dict[str, Hold]]:
        """``{record_id: {field: Hold}}`` of holds still running at ``at`` (default: now)."""
        at = at or utc_now()

        def make(row: Any) -> Hold:
            return Hold(
                row.crm,
                row.object,
                row.record_id,
                row.field,
                row.observed_value,
                row.held_until,
                row.reason,
                row.held_since,
            )

        with self._begin(read_only=True) as connection:
            result: dict[str, dict[str, Hold]] = {}
            for chunk in chunks(list(ids)):
                rows = connection.execute(
                    select(_H).where(
                        _H.c.crm == crm,
                        _H.c.object == object,
                        _H.c.record_id.in_(chunk),
                        _H.c.held_until > at,
                    )
                )
                result.update(_group(rows, make))
            return result

    def release_holds(
        self, crm: str, object: str, record_id: str, fields: Sequence[str] | None = None
    ) -> int:
        """End holds on a record early (all its fields, or the given ones); returns how many ended."""
        query = delete(_H).where(_H.c.crm == crm, _H.c.object == object, _H.c.record_id == record_id)
        if fields is not None:
            query = query.where(_H.c.field.in_(list(fields)))
        with self._begin() as connection:
            return connection.execute(query).rowcount or 0
