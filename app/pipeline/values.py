"""Comparing CRM values across wire formats.

HubSpot sends every property as a string ("100", "true", "2026-11-01"), Salesforce sends JSON
numbers, booleans and ISO dates, and Baton holds Python values. Two values are "the same" when a
person would say so: 100 == 100.0 == "100", True == "true", date(2026, 11, 1) == "2026-11-01",
None == "" (HubSpot's empty property). Planning compares with :func:`same_value`, so an unchanged
field is never written just because its wire format differs.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any


def comparable(value: Any) -> Any:
    """A normal form of a CRM value for equality (not for display)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def same_value(left: Any, right: Any) -> bool:
    return comparable(left) == comparable(right)


def jsonable(value: Any) -> Any:
    """A value as it goes into the audit log and job arguments (dates as ISO text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
