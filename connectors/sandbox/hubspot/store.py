"""In-memory portal state: records of each object type, ids, validation on write, change hooks.

One lock guards everything (the server is threaded). Each table keeps a list sorted by
(modified ms, id), so searches on the modified date (what every incremental sync does) start from a
bisect instead of scanning and sorting the whole table. ``version`` changes on every write, which
lets the search module cache a query's matches while a client pages through them.
Listeners (``add_listener``) receive a :class:`ChangeEvent` after each committed write; the webhook
simulator will attach here.
"""
from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot import pipelines
from connectors.sandbox.hubspot.errors import HubSpotApiError, PropertyProblem
from connectors.sandbox.hubspot.properties import (
    ALWAYS_RETURNED,
    DEFAULT_PROPERTIES,
    DEFINITIONS,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    ProblemError,
    check_writable,
    lifecycle_allows,
    normalise,
)
from connectors.sandbox.hubspot.timeutil import iso_ms, now_ms

ID_START = {"contacts": 1001, "companies": 5_000_001, "deals": 9_000_001}


@dataclass
class StoredRecord:
    id: int
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived_ms: int | None = None

    def to_json(self, object_type: str, wanted: Iterable[str] | None) -> dict[str, Any]:
        """The SimplePublicObject form: values are strings or null; unknown requested names are left out."""
        names = list(wanted) if wanted else list(DEFAULT_PROPERTIES[object_type])
        defined = DEFINITIONS[object_type]
        props = {name: self.properties.get(name) for name in names if name in defined}
        for name in ALWAYS_RETURNED[object_type]:
            props[name] = self.properties.get(name)
        body: dict[str, Any] = {"id": str(self.id), "properties": props, "createdAt": iso_ms(self.created_ms),
                                "updatedAt": iso_ms(self.modified_ms), "archived": self.archived_ms is not None}
        if self.archived_ms is not None:
            body["archivedAt"] = iso_ms(self.archived_ms)
        return body


@dataclass(frozen=True)
class ChangeEvent:
    """One committed change: ``kind`` is creation, propertyChange or deletion (HubSpot's event names)."""

    object_type: str
    record_id: str
    kind: str
    changes: dict[str, str | None]
    source: str            # INTEGRATION (API clients) or CRM_UI (the admin "another user" edits)
    occurred_ms: int


@dataclass
class Table:
    object_type: str
    records: dict[int, StoredRecord] = field(default_factory=dict)
    archived: dict[int, StoredRecord] = field(default_factory=dict)
    by_modified: list[tuple[int, int]] = field(default_factory=list)   # sorted (modified_ms, id)
    ids: list[int] = field(default_factory=list)                       # sorted live ids
    emails: dict[str, int] = field(default_factory=dict)               # lower-case email -> id (contacts)
    next_id: int = 1

    def index_add(self, record: StoredRecord) -> None:
        bisect.insort(self.by_modified, (record.modified_ms, record.id))

    def index_remove(self, record: StoredRecord) -> None:
        position = bisect.bisect_left(self.by_modified, (record.modified_ms, record.id))
        if position < len(self.by_modified) and self.by_modified[position] == (record.modified_ms, record.id):
            del self.by_modified[position]


class ValidationFailed(Exception):
    def __init__(self, problems: list[PropertyProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class PortalStore:
    """All records of the sandbox portal."""

    def __init__(self, *, lifecycle_forward_only: bool = True) -> None:
        self.lock = threading.RLock()
        self.tables = {t: Table(t, next_id=ID_START[t]) for t in OBJECT_TYPES}
        self.version = 0
        self.lifecycle_forward_only = lifecycle_forward_only
        self._listeners: list[Callable[[ChangeEvent], None]] = []

    def add_listener(self, listener: Callable[[ChangeEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, events: list[ChangeEvent]) -> None:
        for event in events:
            for listener in self._listeners:
                listener(event)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, object_type: str, record_id: str, *, archived: bool = False) -> StoredRecord | None:
        if not record_id.isdigit():
            return None
        table = self.tables[object_type]
        return (table.archived if archived else table.records).get(int(record_id))

    def find_by(self, object_type: str, prop: str, value: str) -> StoredRecord | None:
        if prop == "hs_object_id":
            return self.get(object_type, value)
        if prop == "email" and object_type == "contacts":
            table = self.tables[object_type]
            found = table.emails.get(value.lower())
            return table.records.get(found) if found is not None else None
        lowered = value.lower()
        return next((r for r in self.tables[object_type].records.values()
                     if (r.properties.get(prop) or "").lower() == lowered), None)

    def list_page(self, object_type: str, after: int, limit: int, archived: bool) -> tuple[list[StoredRecord], int | None]:
        """Records with id >= after, in id order; the second value is the next cursor (None on the last page)."""
        table = self.tables[object_type]
        if archived:
            ids = sorted(i for i in table.archived if i >= after)[: limit + 1]
            page = [table.archived[i] for i in ids[:limit]]
        else:
            start = bisect.bisect_left(table.ids, after)
            ids = table.ids[start:start + limit + 1]
            page = [table.records[i] for i in ids[:limit]]
        return page, (ids[limit] if len(ids) > limit else None)

    # -- writes --------------------------------------------------------------------------------
    def validate(self, object_type: str, properties: dict[str, Any],
                 current: StoredRecord | None = None) -> dict[str, str | None]:
        """Normalised values, or ValidationFailed listing every bad property (HubSpot reports all)."""
        clean: dict[str, str | None] = {}
        problems: list[PropertyProblem] = []
        for name, value in properties.items():
            try:
                clean[name] = normalise(check_writable(object_type, name), value)
            except ProblemError as error:
                problems.append(error.problem)
        if object_type == "deals" and not problems:
            problems.extend(self._deal_stage_problems(clean, current))
        if problems:
            raise ValidationFailed(problems)
        return clean

    @staticmethod
    def _deal_stage_problems(clean: dict[str, str | None], current: StoredRecord | None) -> list[PropertyProblem]:
        if "dealstage" not in clean and "pipeline" not in clean:
            if current is None:
                return [PropertyProblem("dealstage", "REQUIRED", "dealstage is required when creating a deal")]
            return []
        pipeline = clean.get("pipeline") or (current.properties.get("pipeline") if current else None) or "default"
        stage = clean.get("dealstage", current.properties.get("dealstage") if current else None)
        if stage is None or pipelines.find_stage(pipeline, stage) is None:
            allowed = ", ".join(s.id for s in pipelines.PIPELINES.get(pipeline, ()))
            return [PropertyProblem("dealstage", "INVALID_OPTION",
                                    f"{stage} was not one of the allowed options: [{allowed}]")]
        return []

    def create(self, object_type: str, properties: dict[str, Any], *, source: str = "INTEGRATION",
               created_ms: int | None = None, modified_ms: int | None = None) -> StoredRecord:
        clean = self.validate(object_type, properties)
        with self.lock:
            self._check_unique_email(object_type, clean)
            table = self.tables[object_type]
            record_id, table.next_id = table.next_id, table.next_id + 1
            stamp = now_ms()
            record = StoredRecord(record_id, {}, created_ms or stamp, modified_ms or stamp)
            record.properties.update({k: v for k, v in clean.items() if v is not None})
            if object_type == "deals":
                record.properties.setdefault("pipeline", pipelines.DEFAULT_PIPELINE_ID)
                self._derive_deal(record, stage_changed=True)
            self._stamp(object_type, record)
            table.records[record_id] = record
            table.ids.append(record_id)
            self._index_email(table, record, None)
            table.index_add(record)
            self.version += 1
        self._emit([ChangeEvent(object_type, str(record_id), "creation", dict(clean), source, record.modified_ms)])
        return record

    def _check_unique_email(self, object_type: str, clean: dict[str, str | None],
                            record_id: int | None = None) -> None:
        email = clean.get("email")
        if object_type == "contacts" and email:
            existing = self.find_by("contacts", "email", email)
            if existing is not None and existing.id != record_id:
                raise HubSpotApiError(409, "CONFLICT", f"Contact already exists. Existing ID: {existing.id}")

    def update(self, object_type: str, record_id: str, properties: dict[str, Any], *,
               source: str = "INTEGRATION") -> StoredRecord:
        """PATCH semantics: given values overwrite, "" clears; lifecyclestage only moves forward."""
        with self.lock:
            record = self.get(object_type, record_id)
            if record is None:
                raise KeyError(record_id)
            clean = self.validate(object_type, properties, record)
            self._check_unique_email(object_type, clean, record.id)
            applied = self._apply(object_type, record, clean)
            self.version += 1
        self._emit([ChangeEvent(object_type, str(record.id), "propertyChange", applied, source, record.modified_ms)])
        return record

    def _apply(self, object_type: str, record: StoredRecord, clean: dict[str, str | None]) -> dict[str, str | None]:
        table = self.tables[object_type]
        applied: dict[str, str | None] = {}
        old_email = record.properties.get("email")
        for name, value in clean.items():
            if (name == "lifecyclestage" and self.lifecycle_forward_only
                    and not lifecycle_allows(record.properties.get(name), value)):
                continue   # HubSpot answers success but keeps the later stage
            if record.properties.get(name) != value:
                applied[name] = value
            record.properties[name] = value
        if object_type == "deals":
            self._derive_deal(record, stage_changed="dealstage" in applied or "pipeline" in applied)
        if "email" in applied:
            self._index_email(table, record, old_email)
        table.index_remove(record)
        record.modified_ms = max(now_ms(), record.modified_ms)
        self._stamp(object_type, record)
        table.index_add(record)
        return applied

    @staticmethod
    def _index_email(table: Table, record: StoredRecord | None, old_email: str | None) -> None:
        if table.object_type != "contacts":
            return
        if old_email:
            table.emails.pop(old_email.lower(), None)
        if record is not None and record.properties.get("email"):
            table.emails[str(record.properties["email"]).lower()] = record.id

    @staticmethod
    def _derive_deal(record: StoredRecord, *, stage_changed: bool) -> None:
        record.properties.update(pipelines.derived_deal_properties(record.properties.get("pipeline"),
                                                                   record.properties.get("dealstage")))
        if stage_changed:
            record.properties["hs_v2_date_entered_current_stage"] = iso_ms(now_ms())

    @staticmethod
    def _stamp(object_type: str, record: StoredRecord) -> None:
        record.properties["hs_object_id"] = str(record.id)
        record.properties["createdate"] = iso_ms(record.created_ms)
        record.properties[MODIFIED_PROPERTY[object_type]] = iso_ms(record.modified_ms)

    def archive(self, object_type: str, record_id: str) -> bool:
        with self.lock:
            record = self.get(object_type, record_id)
            if record is None:
                return False
            table = self.tables[object_type]
            table.index_remove(record)
            del table.records[record.id]
            table.ids.remove(record.id)
            self._index_email(table, None, record.properties.get("email"))
            record.archived_ms = now_ms()
            table.archived[record.id] = record
            self.version += 1
        self._emit([ChangeEvent(object_type, str(record.id), "deletion", {}, "INTEGRATION", record.archived_ms)])
        return True

    def touch(self, object_type: str, record_ids: Iterable[str], modified_ms: int) -> int:
        """Set the modified date of the given records to one timestamp (tie-break tests)."""
        with self.lock:
            table, count = self.tables[object_type], 0
            for record_id in record_ids:
                record = self.get(object_type, record_id)
                if record is None:
                    continue
                table.index_remove(record)
                record.modified_ms = modified_ms
                self._stamp(object_type, record)
                table.index_add(record)
                count += 1
            self.version += 1
            return count
