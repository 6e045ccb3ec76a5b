"""Keyset reads: no offsets across pages, so edits during a read neither skip nor repeat records.

Each test seeds its own portal of 1,000 contacts (about 0.1 s): five full search pages, enough for
page boundaries, ties at a boundary and edits between pages.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.hubspot_search import WindowedSearch
from connectors.mapping import parse_datetime
from connectors.records import FieldUpdate, Record
from tests.connectors_hubspot.support import all_records, connector
from tests.sandbox_hubspot.support import Portal, running_portal

CONTACTS = 1_000


@pytest.fixture
def portal() -> Iterator[Portal]:
    with running_portal(leads=CONTACTS) as running:
        assert len(running.sandbox.store.tables["contacts"].records) == CONTACTS
        yield running


def ids_in_read_order(portal: Portal) -> list[str]:
    """Contact ids in (modified, id) order, as the store indexes them."""
    return [str(record_id) for _, record_id in portal.sandbox.store.tables["contacts"].by_modified]


def share_one_timestamp(portal: Portal, first: int, count: int) -> int:
    """Give the contacts at read positions first..first+count-1 one (past) timestamp; returns it in ms."""
    ordered = portal.sandbox.store.tables["contacts"].by_modified
    stamp_ms = ordered[first + count - 1][0]       # keeps every other record's place in the order
    ids = [str(record_id) for _, record_id in ordered[first:first + count]]
    portal.admin("POST", "touch", {"object": "contacts", "ids": ids, "modified": str(stamp_ms)})
    assert sum(1 for ms, _ in ordered if ms == stamp_ms) == count     # no seeded record shares it by chance
    return stamp_ms


def test_a_clean_read_of_1000_contacts_costs_five_calls(portal: Portal) -> None:
    hub = connector(portal)
    records = all_records(hub.read_changed("contacts", None))
    assert [r.id for r in records] == ids_in_read_order(portal)
    assert hub.ledger.snapshot()["read"]["calls"] == hub.ledger.snapshot()["read"]["minimum"] == 5
    assert portal.admin("GET", "counters")["calls"] == {"POST /crm/v3/objects/contacts/search": 5}


def test_up_to_100_records_sharing_a_timestamp_across_a_page_boundary_keep_the_minimum(portal: Portal) -> None:
    share_one_timestamp(portal, 150, 100)            # 50 of them on page 1, 50 on page 2: NOT_IN the first 50
    hub = connector(portal)
    records = all_records(hub.read_changed("contacts", None))
    assert sorted(r.id for r in records) == sorted(ids_in_read_order(portal))
    assert len(records) == CONTACTS
    assert hub.ledger.snapshot()["read"]["calls"] == 5


def test_more_than_100_records_sharing_a_timestamp_across_a_page_boundary_page_by_id(portal: Portal) -> None:
    """120 of 150 tied records end page 1: too many for NOT_IN, so the tie is read by hs_object_id."""
    stamp_ms = share_one_timestamp(portal, 80, 150)
    hub = connector(portal)
    pages = list(hub.read_changed("contacts", None))
    records = all_records(pages)
    assert Counter(r.id for r in records) == Counter(ids_in_read_order(portal))
    tied = [int(r.id) for r in records if int(r.modified_at.timestamp() * 1000) == stamp_ms]
    assert len(tied) == 150 and tied == sorted(tied)
    # page 1 (80 + 120 tied), the tie by id from the start (150 rows, 30 new), 770 after it in 4 pages
    assert [len(p) for p in pages] == [200, 30, 200, 200, 200, 170]
    assert hub.ledger.snapshot()["read"]["calls"] == 6


def test_records_edited_during_a_read_are_neither_skipped_nor_read_twice(portal: Portal) -> None:
    """Baton writes back every page it read (as inline sync does) and a person edits read and unread
    records between pages: with offset paging this skipped one unread record per edit."""
    order = ids_in_read_order(portal)
    edited_unread, edited_read = order[500:540], order[10:20]
    hub = connector(portal)
    read: list[Record] = []
    for number, page in enumerate(hub.read_changed("contacts", None)):
        read.extend(page)
        outcomes = hub.write("contacts", [FieldUpdate("contacts", r.id, {"baton_score": 42}) for r in page])
        assert all(o.ok for o in outcomes)
        if number == 0:
            for record_id in edited_unread + edited_read:
                portal.admin("POST", "edit", {"object": "contacts", "id": record_id,
                                              "properties": {"web_visits": "777"}})
    read_ids = [r.id for r in read]
    assert len(read_ids) == len(set(read_ids))
    # Edited before this read reached them, they moved past its upper bound: the next read has them.
    assert set(read_ids) == set(order) - set(edited_unread)
    watermark = max(r.watermark for r in read)
    next_read = all_records(hub.read_changed("contacts", watermark, lookback=dt.timedelta(0)))
    assert Counter(r.id for r in next_read) == Counter(order)      # every record was changed during the read
    latest = {r.id: r for r in next_read}
    assert all(latest[i].fields["web_visits"] == 777 for i in edited_unread + edited_read)
    assert all(latest[i].fields["score"] == 42 for i in read_ids)


def test_every_page_is_a_fresh_query_at_offset_0_with_at_most_100_not_in_values(portal: Portal) -> None:
    """The queries themselves, recorded on their way to the real search endpoint."""
    stamp_ms = share_one_timestamp(portal, 80, 150)
    hub = connector(portal)
    bodies: list[dict[str, Any]] = []

    def recorded(body: dict[str, Any]) -> tuple[list[Any], str | None, int]:
        bodies.append(body)
        return hub._search("contacts", body)

    search = WindowedSearch(recorded, "lastmodifieddate",
                            lambda r: int(parse_datetime(r.properties["lastmodifieddate"]).timestamp() * 1000),
                            ["lastmodifieddate"])
    upper_ms = portal.sandbox.store.tables["contacts"].by_modified[-1][0]
    assert sum(len(p) for p in search.pages(None, upper_ms=upper_ms)) == CONTACTS
    assert all(b["after"] == "0" and b["limit"] == 200 for b in bodies)
    not_in = [f["values"] for b in bodies for g in b["filterGroups"] for f in g["filters"] if f["operator"] == "NOT_IN"]
    assert not_in and all(1 <= len(values) <= 100 for values in not_in)   # 120 read at the tie: by id instead
    by_id = [b for b in bodies if b["sorts"][0]["propertyName"] == "hs_object_id"]
    assert [b["filterGroups"][0]["filters"][0] for b in by_id] == [
        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(stamp_ms)}]
    after_tie = bodies[2]["filterGroups"]
    assert after_tie == [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(stamp_ms)},
                                      {"propertyName": "lastmodifieddate", "operator": "LTE", "value": str(upper_ms)}]}]
