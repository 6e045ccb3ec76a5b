"""Time helpers: the sandbox keeps every timestamp as integer epoch milliseconds, like HubSpot."""
from __future__ import annotations

import datetime as dt
import time


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_ms(epoch_ms: int) -> str:
    """HubSpot's response format: ISO 8601 UTC with milliseconds and ``Z``."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_ms(value: str) -> int:
    """Epoch ms from an epoch-ms string, an ISO datetime or an ISO date (midnight UTC)."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    moment = dt.datetime.fromisoformat(text)   # Python 3.11 parses the trailing "Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return round(moment.timestamp() * 1000)


def date_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
