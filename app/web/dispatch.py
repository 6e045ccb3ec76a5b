"""From verified webhook events to queued re-evaluations: dedupe, group by object, enqueue.

Shared by every webhook: each CRM's parser turns its payload into :class:`WebhookEvent` values,
and :func:`dispatch` does the rest. Many events arriving together become ONE ``reevaluate`` call per
object, with each record id once, so a batch of 100 events costs one job per object, not 100.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.web.dedupe import EventDeduper
from app.web.services import Services


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One change a CRM reported. ``object`` is ``None`` when Baton has nothing to do with it."""

    dedupe_key: str
    object: str | None
    record_id: str


@dataclass
class DispatchResult:
    """Counts for the webhook's answer (and the log)."""

    received: int
    duplicates: int = 0
    ignored: int = 0
    records: dict[str, int] = field(default_factory=dict)   # object -> ids queued
    jobs: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"received": self.received, "duplicates": self.duplicates, "ignored": self.ignored,
                "records": self.records, "jobs": self.jobs}


def dispatch(services: Services, deduper: EventDeduper, crm: str, source: str,
             events: Sequence[WebhookEvent]) -> DispatchResult:
    """Queue re-evaluation of the records named by events not seen before.

    If queueing fails, the claims of the events not queued are released (so the CRM's retry is
    processed) and the error propagates.
    """
    result = DispatchResult(received=len(events))
    known = services.known_objects(crm)
    wanted = [event for event in events if event.object is not None and event.object in known]
    result.ignored = len(events) - len(wanted)
    fresh = deduper.claim([event.dedupe_key for event in wanted])
    groups: dict[str, list[WebhookEvent]] = {}
    for event, is_fresh in zip(wanted, fresh, strict=True):
        if is_fresh:
            groups.setdefault(event.object or "", []).append(event)
        else:
            result.duplicates += 1
    pending = list(groups.items())
    for index, (object_name, group) in enumerate(pending):
        record_ids = list(dict.fromkeys(event.record_id for event in group))
        try:
            result.jobs.append(services.reevaluate(crm, object_name, record_ids, source))
        except Exception:
            # Whatever failed, the CRM's retry of these events must be processed, not dropped.
            deduper.release([event.dedupe_key for _, rest in pending[index:] for event in rest])
            raise
        result.records[object_name] = len(record_ids)
    return result
