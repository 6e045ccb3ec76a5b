"""SOQL text the connector sends: literals and the incremental, deleted and by-id queries."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from connectors.records import Watermark


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal in UTC with milliseconds: 2026-11-24T01:02:03.004Z."""
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def soql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def changed_query(object_name: str, fields: Sequence[str], since: Watermark | None, lookback: dt.timedelta) -> str:
    """Records changed after ``since`` in (SystemModstamp, Id) order.

    Without a lookback the predicate is strict on the pair, so a resumed read neither skips nor
    repeats records sharing the watermark's timestamp: ``SystemModstamp > t OR (SystemModstamp = t
    AND Id > id)``. With a lookback the window re-opens at ``t - lookback`` (deliberate re-reads).
    ``since=None`` is the full backfill.
    """
    select = f"SELECT {', '.join(fields)} FROM {object_name}"
    order = " ORDER BY SystemModstamp ASC, Id ASC"
    if since is None:
        return select + order
    if lookback > dt.timedelta(0):
        return f"{select} WHERE SystemModstamp >= {soql_datetime(since.modified_at - lookback)}{order}"
    stamp = soql_datetime(since.modified_at)
    return (f"{select} WHERE (SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > "
            f"{soql_string(since.last_id)})){order}")


def deleted_query(object_name: str, since: Watermark | None) -> str:
    where = "IsDeleted = true"
    if since is not None:
        where += f" AND SystemModstamp > {soql_datetime(since.modified_at)}"
    return f"SELECT Id, SystemModstamp FROM {object_name} WHERE {where} ORDER BY SystemModstamp ASC, Id ASC"


def by_ids_query(object_name: str, fields: Sequence[str], ids: Sequence[str]) -> str:
    return f"SELECT {', '.join(fields)} FROM {object_name} WHERE Id IN ({', '.join(soql_string(i) for i in ids)})"
