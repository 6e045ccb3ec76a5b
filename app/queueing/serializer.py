"""The JSON serializer used by every Baton queue, worker and job fetch (never pickle).

Job arguments should be plain ids and strings. Return values may also contain dates, datetimes,
dataclasses and sets, which are written one-way as ISO strings, dicts and lists, so a job can
return a summary object without the worker failing to store its result.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any


def _to_json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable; pass ids and plain values to jobs")


class JsonSerializer:
    """rq ``Serializer`` protocol implementation (``dumps``/``loads`` over UTF-8 JSON bytes)."""

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, default=_to_json, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def loads(data: bytes) -> Any:
        return json.loads(data.decode("utf-8"))


SERIALIZER = JsonSerializer
