"""Field mappings: which CRM field feeds which canonical field, and the canonical field types.

Mappings come from configuration (e.g. a Salesforce custom field ``Lead_Score__c`` or a HubSpot
property ``baton_score`` to the canonical ``score``); the defaults below follow the domain contract
in ``docs/sandboxes.md``. Values are coerced to the canonical type on read, so the rules never see a
CRM's wire format (HubSpot sends every property as a string; Salesforce sends dates as strings).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from connectors.records import RecordKind


class FieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"


CANONICAL_FIELDS: dict[RecordKind, dict[str, FieldType]] = {
    RecordKind.LEAD: {
        "stage": FieldType.STRING, "email": FieldType.STRING, "title": FieldType.STRING,
        "industry": FieldType.STRING, "company_size": FieldType.NUMBER, "country": FieldType.STRING,
        "segment": FieldType.STRING, "email_clicks": FieldType.NUMBER, "web_visits": FieldType.NUMBER,
        "product_page_visits": FieldType.NUMBER, "seminar_attended": FieldType.BOOLEAN,
        "catalogue_requested": FieldType.BOOLEAN, "inquiry": FieldType.BOOLEAN,
        "no_response": FieldType.BOOLEAN, "last_activity_date": FieldType.DATE,
        "stage_changed_date": FieldType.DATE, "created_date": FieldType.DATETIME, "score": FieldType.NUMBER,
        "recycle_count": FieldType.NUMBER, "recycle_reason": FieldType.STRING,
        "disqualified_reason": FieldType.STRING, "converted": FieldType.BOOLEAN,
    },
    RecordKind.OPPORTUNITY: {
        "stage": FieldType.STRING, "amount": FieldType.NUMBER, "close_date": FieldType.DATE,
        "probability": FieldType.NUMBER, "segment": FieldType.STRING,
        "budget_confirmed": FieldType.BOOLEAN, "authority_confirmed": FieldType.BOOLEAN,
        "need_confirmed": FieldType.BOOLEAN, "timeline_confirmed": FieldType.BOOLEAN,
        "solution_fit": FieldType.BOOLEAN, "champion_agreed": FieldType.BOOLEAN,
        "differentiation_established": FieldType.BOOLEAN, "approval_process_started": FieldType.BOOLEAN,
        "close_plan_complete": FieldType.BOOLEAN, "loss_reason": FieldType.STRING,
        "last_activity_date": FieldType.DATE, "stage_changed_date": FieldType.DATE,
        "gate_violation": FieldType.STRING, "recycle_count": FieldType.NUMBER,
    },
    RecordKind.ACCOUNT: {
        "name": FieldType.STRING, "industry": FieldType.STRING, "employees": FieldType.NUMBER,
        "segment": FieldType.STRING, "annual_revenue": FieldType.NUMBER,
    },
}


@dataclass(frozen=True)
class ObjectMapping:
    """One CRM object synced as one canonical kind, with canonical field -> CRM field names.

    ``stage`` is mapped to the CRM field(s) that hold the stage; the translation of stage VALUES
    (e.g. "Phase 2 - Problem Recognised" -> phase_2) belongs to the rules file, not here.
    """

    object: str
    kind: RecordKind
    fields: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()                  # CRM fields read raw only (e.g. HubSpot ``pipeline``)
    read_only: frozenset[str] = frozenset()      # CRM fields the CRM derives: never written

    def crm_fields(self) -> list[str]:
        return sorted(set(self.fields.values()) | set(self.extra))

    def with_extra(self, names: tuple[str, ...] | list[str]) -> ObjectMapping:
        """The same mapping reading ``names`` too (the rules' stage fields, for instance)."""
        missing = tuple(n for n in names if n not in self.fields.values() and n not in self.extra)
        return replace(self, extra=self.extra + missing) if missing else self

    def writable(self) -> frozenset[str]:
        return frozenset(self.crm_fields()) - self.read_only

    def to_canonical(self, raw: dict[str, Any]) -> dict[str, Any]:
        types = CANONICAL_FIELDS[self.kind]
        return {name: coerce(raw.get(crm_field), types.get(name, FieldType.STRING))
                for name, crm_field in self.fields.items()}


def coerce(value: Any, field_type: FieldType) -> Any:
    """A CRM wire value as the canonical type; unparseable or empty values become None."""
    if value is None or value == "":
        return None
    try:
        if field_type is FieldType.NUMBER:
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else float(value)
        if field_type is FieldType.BOOLEAN:
            return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1", "yes")
        if field_type is FieldType.DATE:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        if field_type is FieldType.DATETIME:
            return value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return str(value)


def parse_datetime(text: str) -> dt.datetime:
    """Parse the CRMs' datetime formats ("2026-11-01T09:30:00.000+0000", "...Z", epoch ms) to aware UTC."""
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.timezone.utc)
    cleaned = text.replace("Z", "+00:00")
    if len(cleaned) >= 5 and cleaned[-5] in "+-" and cleaned[-3] != ":":
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]          # +0000 -> +00:00 (Salesforce)
    parsed = dt.datetime.fromisoformat(cleaned)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
