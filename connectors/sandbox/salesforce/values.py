"""Salesforce wire formats for dates and datetimes, and the 18-character record ids.

Datetimes go out as ``2026-11-24T01:02:03.000+0000`` (millisecond precision, no colon in the offset),
dates as ``2026-11-24``. Every timestamp the sandbox stores is truncated to the millisecond, so two
records written in one call share one ``SystemModstamp`` exactly, as in a real org.
"""
from __future__ import annotations

import datetime as dt
import threading

UTC = dt.UTC
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def truncate_ms(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC with microseconds cut to whole milliseconds."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def format_datetime(value: dt.datetime) -> str:
    value = truncate_ms(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_date(value: dt.date) -> str:
    return value.isoformat()


def parse_datetime(text: str) -> dt.datetime:
    """Accept Salesforce's and ISO 8601's datetime spellings (``Z``, ``+0000``, ``+00:00``)."""
    cleaned = text.strip().replace("Z", "+00:00")
    if len(cleaned) >= 5 and cleaned[-5] in "+-" and cleaned[-3] != ":":
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    parsed = dt.datetime.fromisoformat(cleaned)
    return truncate_ms(parsed)


def to_18_char_id(id15: str) -> str:
    """Append Salesforce's case-safe checksum suffix to a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def make_id(key_prefix: str, number: int) -> str:
    """The 18-char id of record ``number`` of an object; ids sort (as strings) in creation order."""
    digits = ""
    value = number
    for _ in range(10):
        digits = _ID_ALPHABET[value % 62] + digits
        value //= 62
    return to_18_char_id(f"{key_prefix}5g{digits}")


def looks_like_id(text: str) -> bool:
    return len(text) in (15, 18) and text.isalnum()


class ModstampClock:
    """Millisecond timestamps that never go backwards, even if the wall clock does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = dt.datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> dt.datetime:
        with self._lock:
            current = truncate_ms(dt.datetime.now(UTC))
            self._last = max(current, self._last)
            return self._last
