"""Write-back helpers for HubSpot: wire encoding, lifecycle direction, 207 results -> WriteOutcomes."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from connectors.records import FieldUpdate, WriteOutcome

# HubSpot's default lifecycle order; ``other`` may be entered from and left for any stage. Kept here
# (not imported from the sandbox) because the connector must not depend on the sandbox.
LIFECYCLE_ORDER = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                   "customer", "evangelist")


def encode(value: Any) -> str:
    """A Python value as a HubSpot property string; None clears the property ("")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()     # date properties take YYYY-MM-DD (midnight UTC)
    return str(value)


def is_backward(current: str | None, new: str) -> bool:
    """True when HubSpot would silently ignore ``current -> new`` (an earlier default stage)."""
    if not current or not new or "other" in (current, new):
        return False
    if current not in LIFECYCLE_ORDER or new not in LIFECYCLE_ORDER:
        return False
    return LIFECYCLE_ORDER.index(new) < LIFECYCLE_ORDER.index(current)


def merge_updates(updates: Sequence[FieldUpdate]) -> dict[str, dict[str, str]]:
    """id -> encoded changes; several updates of one record merge (later values win).

    HubSpot refuses a batch naming one id twice, so merging is required, not an optimisation.
    """
    merged: dict[str, dict[str, str]] = {}
    for update in updates:
        merged.setdefault(update.id, {}).update({name: encode(v) for name, v in update.changes.items()})
    return merged


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def outcomes_from_batch(ids: Sequence[str], response: Any) -> dict[str, WriteOutcome]:
    """Per-id outcomes of one batch update response (200: all ok; 207: ``errors`` name the failed ids)."""
    done = {str(r.id) for r in (getattr(response, "results", None) or [])}
    outcomes = {record_id: WriteOutcome(record_id, ok=True) for record_id in ids if record_id in done}
    for error in getattr(response, "errors", None) or []:
        context = error.context or {}
        failed = [i for i in context.get("ids", []) if i in ids] or [i for i in ids if i not in done]
        codes = tuple(d.code for d in (error.errors or []) if getattr(d, "code", None))
        for record_id in failed:
            outcomes[record_id] = WriteOutcome(
                record_id, ok=False, error_code=error.category, message=error.message,
                retriable=error.category in ("RATE_LIMITS", "INTERNAL_ERROR"),
                fields=tuple(context.get("propertyName", [])), extra={"codes": list(codes)} if codes else {})
    for record_id in ids:
        outcomes.setdefault(record_id, WriteOutcome(record_id, ok=False, error_code="NO_RESULT",
                                                    message="HubSpot returned neither a result nor an error"))
    return outcomes
