"""Canonical record types shared by every connector.

A connector reads CRM objects (Salesforce ``Lead``/``Contact``/``Account``/``Opportunity``, HubSpot
``contacts``/``companies``/``deals``) and hands them out as :class:`Record`: the CRM's own field values
(``raw``), the canonical fields derived through the configured field mapping (``fields``), and the
ordering key used for incremental reads (``modified_at``, ``id``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Crm(StrEnum):
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


class RecordKind(StrEnum):
    """What the rules see. ``lead`` covers Salesforce Leads and Contacts and HubSpot contacts."""

    LEAD = "lead"
    ACCOUNT = "account"
    OPPORTUNITY = "opportunity"


@dataclass(frozen=True, slots=True)
class Watermark:
    """Position of an incremental read: the last (modified_at, id) seen, compared in that order.

    The id tie-break matters: many records can share one modification timestamp (bulk edits,
    imports), and a watermark on the timestamp alone either skips or re-reads them forever.
    Ids compare as the CRM orders them: HubSpot's numeric ids as numbers ("1160" < "10520"),
    Salesforce's ids as text.
    """

    modified_at: datetime
    last_id: str = ""

    def sort_key(self) -> tuple[datetime, int, int, str]:
        numeric = self.last_id.isdigit()
        return (self.modified_at, 0 if numeric else 1, int(self.last_id) if numeric else 0, self.last_id)

    def __lt__(self, other: Watermark) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Watermark) -> bool:
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: Watermark) -> bool:
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: Watermark) -> bool:
        return self.sort_key() >= other.sort_key()


@dataclass(frozen=True, slots=True)
class Record:
    crm: Crm
    object: str                      # CRM object name: "Lead", "Opportunity", "contacts", "deals"
    kind: RecordKind
    id: str                          # the CRM's id
    modified_at: datetime            # SystemModstamp / lastmodifieddate / hs_lastmodifieddate (UTC)
    fields: dict[str, Any]           # canonical field name -> typed value (via the field mapping)
    raw: dict[str, Any]              # CRM field name -> value exactly as the CRM returned it
    deleted: bool = False

    @property
    def watermark(self) -> Watermark:
        return Watermark(self.modified_at, self.id)


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    """The changed CRM fields of one record. Only fields whose value differs are sent."""

    object: str
    id: str
    changes: dict[str, Any]          # CRM field name -> new value ("" clears a HubSpot property)
    # CRM field name -> value the caller last read, when known: lets a connector skip a read it would
    # otherwise need (e.g. HubSpot's current lifecyclestage, to tell a backward move).
    previous: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What the CRM answered for one record of a batched write. Never raised for one bad record."""

    id: str
    ok: bool
    error_code: str | None = None    # e.g. "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "VALIDATION_ERROR"
    message: str | None = None
    retriable: bool = False          # e.g. UNABLE_TO_LOCK_ROW: the same write may succeed later
    fields: tuple[str, ...] = ()     # fields the CRM blamed, when it said
    extra: dict[str, Any] = field(default_factory=dict)
