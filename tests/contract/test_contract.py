"""One contract, two CRMs: the same behaviour through the Connector interface for HubSpot and Salesforce."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.errors import RateLimited
from connectors.mapping import CANONICAL_FIELDS, FieldType
from connectors.records import FieldUpdate, Record, RecordKind, Watermark
from tests.contract.conftest import CrmUnderTest

PYTHON_TYPES: dict[FieldType, tuple[type, ...]] = {
    FieldType.STRING: (str,), FieldType.NUMBER: (int, float), FieldType.BOOLEAN: (bool,),
    FieldType.DATE: (dt.date,), FieldType.DATETIME: (dt.datetime,),
}


def read_all(connector: Any, object_name: str, since: Watermark | None = None, **kwargs: Any) -> list[Record]:
    return [record for page in connector.read_changed(object_name, since, **kwargs) for record in page]


def plan(connector: Any, record: Record, desired: dict[str, Any]) -> FieldUpdate | None:
    """The changed fields only: canonical values that differ, under their CRM field names."""
    mapping = connector.settings.objects[record.object]
    changes = {mapping.fields[name]: value for name, value in desired.items() if record.fields.get(name) != value}
    return FieldUpdate(record.object, record.id, changes) if changes else None


def writable_leads(records: list[Record]) -> list[Record]:
    """Leads a connector may write (Salesforce's converted leads are read-only)."""
    return [r for r in records if not r.fields.get("converted")]


@pytest.mark.parametrize("kind", list(RecordKind))
def test_full_read_returns_every_seeded_record_with_typed_canonical_fields(crm: CrmUnderTest,
                                                                           kind: RecordKind) -> None:
    seeded = {RecordKind.LEAD: crm.running.data.people, RecordKind.ACCOUNT: crm.running.data.companies,
              RecordKind.OPPORTUNITY: crm.running.data.deals}[kind]
    records = read_all(crm.connector(), crm.object(kind))
    assert len(records) == len({r.id for r in records}) == len(seeded)
    types = CANONICAL_FIELDS[kind]
    for record in records:
        assert record.kind is kind and record.modified_at.tzinfo is not None
        for name, value in record.fields.items():
            if value is not None and name in types:
                assert isinstance(value, PYTHON_TYPES[types[name]]), (name, value)
                assert types[name] is FieldType.DATETIME or not isinstance(value, dt.datetime), (name, value)
    assert any(r.fields.get("stage") for r in records) or kind is RecordKind.ACCOUNT


def test_incremental_read_returns_the_edit_and_nothing_older_than_the_lookback(crm: CrmUnderTest) -> None:
    connector = crm.connector()
    object_name = crm.object(RecordKind.LEAD)
    records = read_all(connector, object_name)
    watermark = max(r.watermark for r in records)
    target = writable_leads(records)[3]
    crm.edit(RecordKind.LEAD, target.id, {crm.crm_field(connector, RecordKind.LEAD, "email_clicks"): 77})
    lookback = dt.timedelta(seconds=2)
    changed = read_all(connector, object_name, watermark, lookback=lookback)
    assert target.id in {r.id for r in changed}
    assert next(r for r in changed if r.id == target.id).fields["email_clicks"] == 77
    assert all(r.modified_at >= watermark.modified_at - lookback for r in changed)
    assert len(changed) < len(records)


def test_records_sharing_one_timestamp_are_all_read_across_pages(crm: CrmUnderTest) -> None:
    connector = crm.connector(page_size=200)
    object_name = crm.object(RecordKind.LEAD)
    ids = sorted(r.id for r in read_all(connector, object_name))[:250]
    crm.touch(RecordKind.LEAD, ids, "2030-03-03T03:03:03.000Z")
    stamp = dt.datetime(2030, 3, 3, 3, 3, 3, tzinfo=dt.UTC)
    pages = list(connector.read_changed(object_name, Watermark(stamp - dt.timedelta(milliseconds=1)),
                                        lookback=dt.timedelta(0)))
    read = [r.id for page in pages for r in page]
    assert len(pages) >= 2 and sorted(read) == ids and len(read) == len(set(read))
    # Resuming from a watermark inside the tie (no lookback) continues strictly after it, page boundary or not.
    resumed = read_all(connector, object_name, Watermark(stamp, read[199]), lookback=dt.timedelta(0))
    assert [r.id for r in resumed] == read[200:]


def test_write_sends_only_changed_fields_and_a_second_identical_plan_is_empty(crm: CrmUnderTest) -> None:
    connector = crm.connector()
    object_name = crm.object(RecordKind.LEAD)
    records = writable_leads(read_all(connector, object_name))[10:13]
    desired = {"score": 91, "recycle_reason": "contract test"}
    first = [plan(connector, r, {**desired, "email": r.fields["email"]}) for r in records]
    assert all(u is not None and set(u.changes) == {crm.crm_field(connector, RecordKind.LEAD, "score"),
                                                    crm.crm_field(connector, RecordKind.LEAD, "recycle_reason")}
               for u in first)
    assert all(o.ok for o in connector.write(object_name, [u for u in first if u]))
    again = connector.fetch(object_name, [r.id for r in records])
    assert len(again) == 3 and all(r.fields["score"] == 91 for r in again)
    assert [plan(connector, r, desired) for r in again] == [None, None, None]


def test_one_record_failing_does_not_fail_the_batch(crm: CrmUnderTest) -> None:
    connector = crm.connector()
    object_name = crm.object(RecordKind.OPPORTUNITY)
    records = read_all(connector, object_name)[:3]
    crm.set_faults({"fail_records": {records[1].id: "Injected validation failure"}})
    field = crm.crm_field(connector, RecordKind.OPPORTUNITY, "gate_violation")
    outcomes = connector.write(object_name, [FieldUpdate(object_name, r.id, {field: "contract"}) for r in records])
    assert [o.ok for o in outcomes] == [True, False, True] and outcomes[1].id == records[1].id
    fetched = {r.id: r.fields["gate_violation"] for r in connector.fetch(object_name, [r.id for r in records])}
    assert fetched[records[0].id] == fetched[records[2].id] == "contract"
    assert fetched[records[1].id] != "contract"


def test_rate_limit_maps_to_rate_limited(crm: CrmUnderTest) -> None:
    crm.set_faults({"rate_limit_next": 1})
    with pytest.raises(RateLimited):
        read_all(crm.connector(), crm.object(RecordKind.ACCOUNT))


def test_deleted_records_are_detected_after_the_watermark(crm: CrmUnderTest) -> None:
    connector = crm.connector()
    object_name = crm.object(RecordKind.ACCOUNT)
    before = Watermark(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2))
    victim = read_all(connector, object_name)[-1]
    crm.delete(RecordKind.ACCOUNT, victim.id)
    assert victim.id in connector.deleted_since(object_name, before)
    assert victim.id not in {r.id for r in read_all(connector, object_name)}


def test_reading_and_writing_back_costs_the_minimum_number_of_calls(crm: CrmUnderTest) -> None:
    connector = crm.connector()
    object_name = crm.object(RecordKind.OPPORTUNITY)
    records = read_all(connector, object_name)
    field = crm.crm_field(connector, RecordKind.OPPORTUNITY, "recycle_count")
    outcomes = connector.write(object_name, [FieldUpdate(object_name, r.id, {field: 1}) for r in records])
    assert all(o.ok for o in outcomes)
    assert connector.ledger.total_calls == connector.ledger.total_minimum > 0
