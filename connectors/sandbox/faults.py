"""Fault injection and call counters shared by both sandboxes.

Faults are set at run time through each sandbox's admin endpoint (``PUT /_sandbox/faults``) and
decided per request here; each CRM renders the decided fault in its own wire format (Salesforce
``REQUEST_LIMIT_EXCEEDED`` / ``UNABLE_TO_LOCK_ROW`` bodies, HubSpot 429 bodies with or without
``Retry-After``). Randomness is seeded, so a run with the same plan and the same calls fails the same way.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    NONE = "none"
    RATE_LIMIT = "rate_limit"        # SF 403 REQUEST_LIMIT_EXCEEDED, HubSpot 429
    SERVER_ERROR = "server_error"    # 500/503
    TIMEOUT = "timeout"              # the server sleeps past the client's timeout, then drops the request
    LOCK_ROW = "lock_row"            # SF UNABLE_TO_LOCK_ROW (per record in collections, whole call otherwise)


@dataclass
class FaultPlan:
    """What can go wrong, set through the admin endpoint. Every field is optional in the JSON.

    ``*_next`` counters fail exactly the next N matching calls (deterministic, what tests use);
    ``*_rate`` fail that fraction of matching calls at random (seeded; what demos and benches use).
    ``endpoints`` limits call-level faults to endpoint keys containing one of the given substrings
    (e.g. ``["composite/sobjects"]`` or ``["batch/update"]``); empty means every API endpoint.
    """

    latency_ms: float = 0.0
    rate_limit_next: int = 0
    rate_limit_rate: float = 0.0
    retry_after_s: float | None = 1.0       # HubSpot: None sends a 429 without Retry-After
    server_error_next: int = 0
    server_error_rate: float = 0.0
    timeout_next: int = 0
    timeout_s: float = 3.0
    lock_row_next: int = 0
    lock_row_rate: float = 0.0
    # record id -> message: per-record validation failures in batched writes (and single writes)
    fail_records: dict[str, str] = field(default_factory=dict)
    # edits by "another user": applied once, right after a read response served the record
    # [{"object": "Lead", "id": "00Q...", "fields": {"Status": "Nurturing"}}]
    edit_after_read: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    kind: FaultKind = FaultKind.NONE
    latency_s: float = 0.0
    retry_after_s: float | None = None
    timeout_s: float = 0.0


class FaultInjector:
    """Holds the current plan and decides, per API call, which fault (if any) it suffers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._random = random.Random(0)

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan
            self._random = random.Random(plan.seed)

    def clear(self) -> None:
        self.set_plan(FaultPlan())

    def decide(self, endpoint: str) -> FaultDecision:
        """The fault for one call to ``endpoint`` (e.g. ``"PATCH composite/sobjects"``)."""
        with self._lock:
            plan = self._plan
            latency = plan.latency_ms / 1000.0
            if plan.endpoints and not any(part in endpoint for part in plan.endpoints):
                return FaultDecision(latency_s=latency)
            for kind, next_attr, rate_attr in (
                (FaultKind.RATE_LIMIT, "rate_limit_next", "rate_limit_rate"),
                (FaultKind.SERVER_ERROR, "server_error_next", "server_error_rate"),
                (FaultKind.TIMEOUT, "timeout_next", None),
                (FaultKind.LOCK_ROW, "lock_row_next", "lock_row_rate"),
            ):
                if getattr(plan, next_attr) > 0:
                    setattr(plan, next_attr, getattr(plan, next_attr) - 1)
                    return self._decision(kind, latency)
                if rate_attr and self._random.random() < getattr(plan, rate_attr):
                    return self._decision(kind, latency)
            return FaultDecision(latency_s=latency)

    def _decision(self, kind: FaultKind, latency: float) -> FaultDecision:
        return FaultDecision(kind=kind, latency_s=latency, retry_after_s=self._plan.retry_after_s,
                             timeout_s=self._plan.timeout_s)

    def record_failure(self, record_id: str) -> str | None:
        """The injected validation message for a record, if one is planned."""
        with self._lock:
            return self._plan.fail_records.get(record_id)

    def take_edits_after_read(self, object_name: str, record_ids: set[str]) -> list[dict[str, Any]]:
        """Pop the planned "another user" edits for records just served by a read."""
        with self._lock:
            due = [e for e in self._plan.edit_after_read
                   if e.get("object") == object_name and e.get("id") in record_ids]
            self._plan.edit_after_read = [e for e in self._plan.edit_after_read if e not in due]
            return due


class CallCounters:
    """Per-endpoint call counters that tests and benchmarks read (``GET /_sandbox/counters``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._records: Counter[str] = Counter()

    def count(self, endpoint: str, records: int = 0) -> None:
        with self._lock:
            self._counts[endpoint] += 1
            self._records[endpoint] += records

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._counts), "records": dict(self._records),
                    "total_calls": sum(self._counts.values())}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._records.clear()
