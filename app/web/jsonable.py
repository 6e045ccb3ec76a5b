"""Turn service results (dataclasses, datetimes, tuples) into JSON-ready values.

Flask's default provider would render datetimes as HTTP dates; the API uses ISO 8601.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
