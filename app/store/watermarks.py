"""Watermarks: where the incremental read of each (crm, object) continues."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.store.base import StoreMixin
from app.store.models import Watermark as WatermarkRow
from app.store.models import table
from app.store.sql import upsert
from app.store.types import utc_now
from connectors.records import Watermark

_T = table(WatermarkRow)


class WatermarksMixin(StoreMixin):
    def get_watermark(self, crm: str, object: str) -> Watermark | None:
        """The stored watermark, or None when the object was never synced (a full read is due)."""
        with self._begin(read_only=True) as connection:
            row = connection.execute(select(_T).where(_T.c.crm == crm, _T.c.object == object)).first()
        return Watermark(row.modified_at, row.last_id) if row else None

    def set_watermark(self, crm: str, object: str, watermark: Watermark) -> None:
        """Store the watermark. To make it atomic with the page's snapshots, call it and
        :meth:`upsert_records` on the same :meth:`Store.unit_of_work`."""
        row = {
            "crm": crm,
            "object": object,
            "modified_at": watermark.modified_at,
            "last_id": watermark.last_id,
            "updated_at": utc_now(),
        }
        with self._begin() as connection:
            upsert(
                connection, _T, [row], keys=("crm", "object"), update=("modified_at", "last_id", "updated_at")
            )

    def clear_watermark(self, crm: str, object: str) -> None:
        """Forget the watermark, so the next sync of the object reads everything."""
        with self._begin() as connection:
            connection.execute(delete(_T).where(_T.c.crm == crm, _T.c.object == object))

    def watermarks(self) -> dict[tuple[str, str], Watermark]:
        """Every stored watermark by (crm, object), for status displays."""
        with self._begin(read_only=True) as connection:
            rows = connection.execute(select(_T).order_by(_T.c.crm, _T.c.object))
            return {(row.crm, row.object): Watermark(row.modified_at, row.last_id) for row in rows}
