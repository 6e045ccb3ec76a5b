"""Sync runs: one row per run, with its counts, API calls and error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from app.store.base import StoreMixin
from app.store.entities import RunStatus, SyncMode, SyncRunInfo, new_id
from app.store.errors import UnknownRun
from app.store.models import SyncRun, table
from app.store.types import utc_now

_R = table(SyncRun)


def _info(row: Any) -> SyncRunInfo:
    return SyncRunInfo(
        run_id=row.run_id,
        crm=row.crm,
        object=row.object,
        mode=SyncMode(row.mode),
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=row.counts,
        api_calls=row.api_calls,
        error=row.error,
    )


class SyncRunsMixin(StoreMixin):
    def start_run(
        self,
        crm: str,
        object: str | None,
        mode: SyncMode | str,
        *,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> SyncRunInfo:
        """Record the start of a run (status ``running``); ``run_id`` defaults to a new UUID."""
        row: dict[str, Any] = {
            "run_id": run_id or new_id(),
            "crm": crm,
            "object": object,
            "mode": str(SyncMode(mode)),
            "status": str(RunStatus.RUNNING),
            "started_at": started_at or utc_now(),
            "finished_at": None,
            "counts": {},
            "api_calls": {},
            "error": None,
        }
        with self._begin() as connection:
            connection.execute(insert(_R), row)
            return _info(connection.execute(select(_R).where(_R.c.run_id == row["run_id"])).one())

    def update_run(
        self, run_id: str, *, counts: dict[str, Any] | None = None, api_calls: dict[str, Any] | None = None
    ) -> None:
        """Replace a running run's counts and/or API calls (progress)."""
        values = {k: v for k, v in (("counts", counts), ("api_calls", api_calls)) if v is not None}
        if values:
            self._update_run(run_id, values)

    def finish_run(
        self,
        run_id: str,
        status: RunStatus | str,
        *,
        counts: dict[str, Any] | None = None,
        api_calls: dict[str, Any] | None = None,
        error: Any = None,
        finished_at: datetime | None = None,
    ) -> SyncRunInfo:
        """Record the end of a run: its final status, counts, API calls and error (text or dict)."""
        values: dict[str, Any] = {
            "status": str(RunStatus(status)),
            "finished_at": finished_at or utc_now(),
            "error": error,
        }
        values.update({k: v for k, v in (("counts", counts), ("api_calls", api_calls)) if v is not None})
        return self._update_run(run_id, values)

    def _update_run(self, run_id: str, values: dict[str, Any]) -> SyncRunInfo:
        with self._begin() as connection:
            if not connection.execute(update(_R).where(_R.c.run_id == run_id).values(**values)).rowcount:
                raise UnknownRun(f"no sync run {run_id!r}")
            return _info(connection.execute(select(_R).where(_R.c.run_id == run_id)).one())

    def get_run(self, run_id: str) -> SyncRunInfo | None:
        with self._begin(read_only=True) as connection:
            row = connection.execute(select(_R).where(_R.c.run_id == run_id)).first()
        return _info(row) if row else None

    def recent_runs(
        self,
        *,
        crm: str | None = None,
        object: str | None = None,
        mode: SyncMode | str | None = None,
        status: RunStatus | str | None = None,
        limit: int = 20,
    ) -> list[SyncRunInfo]:
        """Runs newest first, optionally filtered."""
        query = select(_R)
        for column, value in (
            (_R.c.crm, crm),
            (_R.c.object, object),
            (_R.c.mode, mode),
            (_R.c.status, status),
        ):
            if value is not None:
                query = query.where(column == str(value))
        query = query.order_by(_R.c.started_at.desc(), _R.c.run_id).limit(limit)
        with self._begin(read_only=True) as connection:
            return [_info(row) for row in connection.execute(query)]
