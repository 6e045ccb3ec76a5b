"""JSON that round-trips the value types records carry (dates, datetimes, decimals).

Canonical fields are typed (``close_date`` is a :class:`datetime.date`, ``amount`` may be a
:class:`~decimal.Decimal`). Plain JSON would hand them back as strings, and a dry run evaluated
against stored snapshots would then see different values than a live run. Non-JSON values are
therefore written as one-key tagged objects (``{"$date": "2024-05-01"}``) and turned back on read.
The engine uses these functions for every JSON column, so the C encoder does the bulk of the work.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

_DECODERS = {
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$time": time.fromisoformat,
    "$decimal": Decimal,
}


def _tag(value: Any) -> Any:
    # datetime is a subclass of date: test it first.
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"value of type {type(value).__name__} cannot be stored as JSON")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, raw),) = obj.items()
        decoder = _DECODERS.get(key)
        if decoder is not None and isinstance(raw, str):
            return decoder(raw)
    return obj


# One encoder for every call: json.dumps with options builds a new encoder each time, which costs
# as much as encoding a small record.
_ENCODER = json.JSONEncoder(default=_tag, separators=(",", ":"), ensure_ascii=False)
_DECODER = json.JSONDecoder(object_hook=_untag)


def dumps(value: Any) -> str:
    """Serialise ``value`` to JSON text, tagging dates, datetimes, times and decimals."""
    return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`dumps`, restoring tagged values."""
    return _DECODER.decode(text.decode() if isinstance(text, bytes) else text)


def canonical_dumps(value: Any) -> str:
    """Deterministic JSON (sorted keys) for hashing, e.g. idempotency keys."""
    return json.dumps(value, default=_tag, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
