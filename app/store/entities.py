"""Plain, immutable values the store's API takes and returns (no ORM objects leak out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from connectors.records import Crm, Record, RecordKind


class DecisionStatus(StrEnum):
    PLANNED = "planned"  # decided, the write is queued
    HELD_BACK = "held_back"  # not written: a person changed the field within the hold period
    WRITTEN = "written"  # the CRM accepted the write
    FAILED = "failed"  # the CRM refused the write (the answer says why)
    SKIPPED = "skipped"  # nothing to write (e.g. the CRM already had the values)
    CONFLICT = "conflict"  # the record changed between read and write; not written


class SyncMode(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"
    DRY_RUN = "dry_run"
    WEBHOOK = "webhook"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored state of one CRM record."""

    crm: str
    object: str
    id: str
    kind: str
    fields: dict[str, Any]
    raw: dict[str, Any]
    modified_at: datetime
    deleted: bool
    first_seen: datetime
    last_seen: datetime

    def to_record(self) -> Record:
        """The snapshot as the connectors' :class:`Record` (what the rules evaluate)."""
        return Record(
            crm=Crm(self.crm),
            object=self.object,
            kind=RecordKind(self.kind),
            id=self.id,
            modified_at=self.modified_at,
            fields=dict(self.fields),
            raw=dict(self.raw),
            deleted=self.deleted,
        )


@dataclass(frozen=True, slots=True)
class NewDecision:
    """A decision to log. ``changes`` is ``{field: {"from": old, "to": new}}`` (canonical fields).

    ``idempotency_key`` defaults to :func:`app.store.keys.decision_key` of the decision, so the same
    decision about the same record state logged twice (a retried job) is stored once.
    """

    crm: str
    object: str
    record_id: str
    kind: str
    ruleset_version: str
    changes: dict[str, dict[str, Any]]
    reason: str
    rule_id: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    explanation: Any = None
    run_id: str | None = None
    record_modified_at: datetime | None = None
    decided_at: datetime | None = None
    status: DecisionStatus = DecisionStatus.PLANNED  # the first event logged with it
    detail: str | None = None  # e.g. why it was held back
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionEvent:
    decision_id: str
    status: DecisionStatus
    at: datetime | None = None  # None when appending: the store stamps the current time
    crm_answer: Any = None
    detail: str | None = None
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """A logged decision with its current status (the latest event) and, when asked, all events."""

    decision_id: str
    idempotency_key: str
    run_id: str | None
    crm: str
    object: str
    record_id: str
    kind: str
    rule_id: str | None
    ruleset_version: str
    from_stage: str | None
    to_stage: str | None
    changes: dict[str, dict[str, Any]]
    reason: str
    explanation: Any
    record_modified_at: datetime | None
    decided_at: datetime
    status: DecisionStatus | None
    events: tuple[DecisionEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """The answer to logging one decision: its id, and whether this call created it."""

    decision_id: str
    idempotency_key: str
    created: bool
    status: DecisionStatus | None  # the current status (for an existing one, maybe already written)


@dataclass(frozen=True, slots=True)
class LastWrite:
    crm: str
    object: str
    record_id: str
    field: str
    value: Any
    written_at: datetime
    decision_id: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    crm: str
    object: str
    record_id: str
    field: str
    observed_value: Any
    held_until: datetime
    reason: str
    held_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class RulesVersionInfo:
    version: str
    name: str
    content: str
    uploaded_at: datetime
    uploaded_by: str | None
    validation: Any
    activated_at: datetime | None
    active: bool = False


@dataclass(frozen=True, slots=True)
class SyncRunInfo:
    run_id: str
    crm: str
    object: str | None
    mode: SyncMode
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any] = field(default_factory=dict)
    api_calls: dict[str, Any] = field(default_factory=dict)
    error: Any = None


def new_id() -> str:
    """A new random UUID as text (decision and run ids)."""
    return str(uuid.uuid4())
