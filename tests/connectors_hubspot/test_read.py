"""Reads: full backfill (search and list), incremental with lookback, shared timestamps, fetch, archived."""
from __future__ import annotations

import datetime as dt

from connectors.records import RecordKind, Watermark
from tests.connectors_hubspot.support import all_records, connector
from tests.sandbox_hubspot.support import Portal, contact_ids


def test_full_read_by_search_returns_every_record_typed(portal: Portal) -> None:
    hub = connector(portal)
    records = all_records(hub.read_changed("deals", None))
    assert len(records) == len({r.id for r in records}) == len(portal.sandbox.store.tables["deals"].records)
    deal = records[0]
    assert deal.kind is RecordKind.OPPORTUNITY and isinstance(deal.fields["amount"], float)
    assert deal.fields["probability"] in (0, 25, 30, 50, 75, 100)
    assert isinstance(deal.fields["close_date"], dt.date) and isinstance(deal.fields["budget_confirmed"], bool)
    order = [(r.modified_at, int(r.id)) for r in records]
    assert order == sorted(order)
    assert hub.ledger.snapshot()["read"]["calls"] == hub.ledger.snapshot()["read"]["minimum"]


def test_full_read_by_list_pages_returns_the_same_records(portal: Portal) -> None:
    by_search = {r.id: r.fields for r in all_records(connector(portal).read_changed("companies", None))}
    hub = connector(portal, full_read="list")
    by_list = {r.id: r.fields for r in all_records(hub.read_changed("companies", None))}
    assert by_list == by_search
    assert hub.ledger.snapshot()["read"]["max_per_call"] == 100


def test_incremental_read_returns_edits_and_nothing_older_than_the_lookback(portal: Portal) -> None:
    hub = connector(portal)
    everything = all_records(hub.read_changed("contacts", None))
    watermark = max(r.watermark for r in everything)
    edited_id = contact_ids(portal, 50)[49]
    portal.admin("POST", "edit", {"object": "contacts", "id": edited_id, "properties": {"web_visits": "123"}})
    lookback = dt.timedelta(seconds=1)
    changed = all_records(hub.read_changed("contacts", watermark, lookback=lookback))
    assert edited_id in {r.id for r in changed}
    assert all(r.modified_at >= watermark.modified_at - lookback for r in changed)
    assert next(r for r in changed if r.id == edited_id).fields["web_visits"] == 123


def test_records_sharing_one_timestamp_are_all_read_across_pages(portal: Portal) -> None:
    ids = contact_ids(portal, 110)[60:110]                       # 50 records, pages of 7
    stamp = "2030-01-01T00:00:00.000Z"
    portal.admin("POST", "touch", {"object": "contacts", "ids": ids, "modified": stamp})
    hub = connector(portal, search_page_size=7)
    ids = sorted(ids, key=int)
    since = Watermark(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), ids[20])
    everything = list(hub.read_changed("contacts", Watermark(since.modified_at - dt.timedelta(milliseconds=1))))
    assert len(everything) == 8                                  # 50 records in pages of 7
    assert [r.id for r in all_records(everything)] == ids        # ties in id order
    resumed = [r.id for r in all_records(hub.read_changed("contacts", since, lookback=dt.timedelta(0)))]
    assert resumed == ids[21:]                 # no lookback: strictly after the (modified, id) watermark


def test_fetch_reads_in_batches_of_100_and_skips_missing_ids(portal: Portal) -> None:
    hub = connector(portal)
    ids = contact_ids(portal, 105)
    records = hub.fetch("contacts", [*ids, "77777777"])
    assert sorted(r.id for r in records) == sorted(ids)
    assert hub.ledger.snapshot()["fetch"] == {"calls": 2, "records": 106, "minimum": 2, "max_per_call": 100,
                                              "retries": 0}


def test_archived_records_are_detected_after_the_watermark(portal: Portal) -> None:
    hub = connector(portal)
    before = Watermark(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    deal_ids = [str(i) for i in list(portal.sandbox.store.tables["deals"].records)[-2:]]
    for deal_id in deal_ids:
        portal.sdk().crm.deals.basic_api.archive(deal_id)
    assert sorted(hub.deleted_since("deals", before)) == sorted(deal_ids)
    later = Watermark(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert hub.deleted_since("deals", later) == []
    assert deal_ids[0] not in {r.id for r in all_records(hub.read_changed("deals", None))}
