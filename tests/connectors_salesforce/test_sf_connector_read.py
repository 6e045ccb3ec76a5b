"""SalesforceConnector reads against the sandbox over HTTPS with the real SDK: paging, incremental
reads with the (SystemModstamp, Id) tie-break, lookback, deleted detection and fetch by id."""
from __future__ import annotations

import datetime as dt

from connectors.records import RecordKind, Watermark
from tests.connectors_salesforce.support import connector, lead_ids
from tests.sandbox_salesforce.support import LiveSandbox

NO_LOOKBACK = dt.timedelta(0)


def test_backfill_pages_with_batch_size_200(live: LiveSandbox) -> None:
    sf = connector(live, query_batch_size=200)
    pages = list(sf.read_changed("Lead", None))
    assert [len(page) for page in pages] == [200, 100]
    records = [r for page in pages for r in page]
    assert [r.watermark for r in records] == sorted(r.watermark for r in records)
    assert len({r.id for r in records}) == 300
    assert sf.ledger.snapshot()["read"] == {"calls": 2, "records": 300, "minimum": 1, "max_per_call": 2000,
                                            "retries": 0}
    first = records[0]
    assert first.kind is RecordKind.LEAD and first.object == "Lead" and first.raw["Id"] == first.id
    assert first.fields["stage"] in ("Awareness", "Lead Acquired", "Nurturing", "Qualified", "Accepted",
                                     "Disqualified", "Converted")
    assert isinstance(first.fields["last_activity_date"], dt.date)


def test_incremental_read_catches_records_changed_after_the_watermark(live: LiveSandbox) -> None:
    sf = connector(live)
    records = [r for page in sf.read_changed("Lead", None) for r in page]
    watermark = records[-1].watermark
    assert [r for page in sf.read_changed("Lead", watermark, lookback=NO_LOOKBACK) for r in page] == []
    changed = lead_ids(live)[:3]
    for rid in changed:
        live.admin("POST", "edit", {"object": "Lead", "id": rid, "fields": {"Web_Visits__c": 99}})
    again = [r for page in sf.read_changed("Lead", watermark, lookback=NO_LOOKBACK) for r in page]
    assert [r.id for r in again] == changed            # edit order == (modstamp, id) order
    assert all(r.fields["web_visits"] == 99 and r.modified_at > watermark.modified_at for r in again)


def test_tie_break_resumes_inside_a_shared_timestamp_across_page_boundaries(live500: LiveSandbox) -> None:
    """450 records share one SystemModstamp (a bulk job); with 200-record pages the tie group spans
    three pages, and a read resumed from any page's last watermark neither skips nor repeats any."""
    live = live500
    tied = live.ids("Lead")[25:475]
    live.admin("POST", "touch", {"object": "Lead", "ids": tied, "timestamp": "2026-11-23T00:00:00.000Z"})
    sf = connector(live, query_batch_size=200)
    before_tie = Watermark(dt.datetime(2026, 11, 22, 23, 59, 59, 999000, tzinfo=dt.UTC))
    pages = list(sf.read_changed("Lead", before_tie, lookback=NO_LOOKBACK))
    assert [len(p) for p in pages] == [200, 200, 50]
    assert [r.id for p in pages for r in p] == sorted(tied)
    for index in (0, 1):
        resume_from = pages[index][-1].watermark            # inside the tie group
        assert resume_from.modified_at == pages[index + 1][0].modified_at
        resumed = [r.id for page in sf.read_changed("Lead", resume_from, lookback=NO_LOOKBACK) for r in page]
        assert resumed == sorted(tied)[200 * (index + 1):]


def test_lookback_rereads_recent_changes(live: LiveSandbox) -> None:
    sf = connector(live)
    rid = lead_ids(live)[0]
    edited = live.admin("POST", "edit", {"object": "Lead", "id": rid, "fields": {"Title": "CIO"}})
    stamp = dt.datetime.fromisoformat(edited["SystemModstamp"].replace("+0000", "+00:00"))
    later = Watermark(stamp + dt.timedelta(minutes=2), "zzz")
    assert [r for p in sf.read_changed("Lead", later, lookback=NO_LOOKBACK) for r in p] == []
    reread = [r.id for p in sf.read_changed("Lead", later, lookback=dt.timedelta(minutes=5)) for r in p]
    assert rid in reread


def test_deleted_records_are_detected_and_not_read(live: LiveSandbox) -> None:
    sf = connector(live)
    start = Watermark(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    victims = lead_ids(live)[:2]
    sdk = live.sdk()
    for rid in victims:
        sdk.Lead.delete(rid)
    assert sf.deleted_since("Lead", start) == victims
    assert sf.deleted_since("Lead", Watermark(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))) == []
    read_ids = {r.id for p in sf.read_changed("Lead", None) for r in p}
    assert not read_ids & set(victims)
    assert sf.ledger.snapshot()["deleted"]["calls"] == 2


def test_fetch_by_ids_in_chunks_of_200(live: LiveSandbox) -> None:
    sf = connector(live)
    ids = live.ids("Lead")[::-1][:250]
    fetched = sf.fetch("Lead", ids + ids[:5])
    assert [r.id for r in fetched] == ids
    verify = sf.ledger.snapshot()["verify"]
    assert (verify["calls"], verify["minimum"]) == (2, 2)


def test_relationship_fields_can_be_mapped(live: LiveSandbox) -> None:
    from connectors.mapping import ObjectMapping
    from connectors.salesforce_settings import OPPORTUNITY_MAPPING
    mapping = ObjectMapping("Opportunity", RecordKind.OPPORTUNITY,
                            {**OPPORTUNITY_MAPPING.fields, "segment": "Account.Segment__c"})
    sf = connector(live, objects={"Opportunity": mapping})
    record = next(iter(sf.read_changed("Opportunity", None)))[0]
    assert record.fields["segment"] in ("SMB", "Enterprise") and record.raw["Account.Segment__c"]
    assert sf.objects() == {"Opportunity": RecordKind.OPPORTUNITY}


def test_an_edit_by_another_user_after_our_read_is_caught_by_the_next_incremental_read(live: LiveSandbox) -> None:
    rid = lead_ids(live, "WHERE IsConverted = false AND Status != 'Accepted'")[0]
    live.admin("PUT", "faults", {"edit_after_read": [{"object": "Lead", "id": rid, "fields": {"Status": "Accepted"}}]})
    sf = connector(live)
    records = [r for page in sf.read_changed("Lead", None) for r in page]
    served = next(r for r in records if r.id == rid)
    assert served.fields["stage"] != "Accepted"
    changed = [r for page in sf.read_changed("Lead", records[-1].watermark, lookback=NO_LOOKBACK) for r in page]
    assert [(r.id, r.fields["stage"]) for r in changed] == [(rid, "Accepted")]


def test_contacts_read_as_leads_when_configured(live: LiveSandbox) -> None:
    from connectors.salesforce_settings import CONTACT_MAPPING
    sf = connector(live, objects={"Contact": CONTACT_MAPPING})
    contacts = [r for p in sf.read_changed("Contact", None) for r in p]
    assert contacts and all(r.kind is RecordKind.LEAD and r.fields["email"] for r in contacts)
