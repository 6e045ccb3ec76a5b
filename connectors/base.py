"""The interface every CRM connector implements."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Protocol

from connectors.accounting import CallLedger
from connectors.records import Crm, FieldUpdate, Record, RecordKind, Watermark, WriteOutcome


class Connector(Protocol):
    """Reads and writes one CRM account's records through its real SDK.

    ``object`` is always the CRM's own object name ("Lead", "Opportunity", "contacts", "deals").
    Reads yield pages (lists) so callers can show progress and checkpoint watermarks per page.
    """

    crm: Crm
    ledger: CallLedger

    def objects(self) -> dict[str, RecordKind]:
        """The CRM objects this connector is configured to sync, with the kind each maps to."""
        ...

    def read_changed(self, object: str, since: Watermark | None, *,
                     lookback: timedelta = timedelta(minutes=5)) -> Iterator[list[Record]]:
        """Records modified after ``since`` minus ``lookback``, ordered by (modified_at, id).

        ``since=None`` is a full backfill. Re-reading inside the lookback window is deliberate
        (the CRMs' search indexes lag); callers de-duplicate by comparing with stored snapshots.
        """
        ...

    def fetch(self, object: str, ids: Sequence[str]) -> list[Record]:
        """The current state of the given records, batched (used to verify before a write)."""
        ...

    def deleted_since(self, object: str, since: Watermark | None) -> list[str]:
        """Ids of records deleted (Salesforce) or archived (HubSpot) after ``since``."""
        ...

    def write(self, object: str, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        """Batched write-back, one outcome per update, in order. Raises only for whole-call failures
        (auth, rate limit, outage); one record's rejection is an outcome with ``ok=False``."""
        ...

    def close(self) -> None:
        ...
