"""Scale: 10,000+ contacts read past the search cap and written back with the minimum number of calls.

This module is about scale, so it seeds 10,000 contacts (about 1 s) and reads/writes them all
through the real SDK (a few seconds each); every other HubSpot test uses about a hundred records.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from connectors.records import FieldUpdate, Watermark
from tests.connectors_hubspot.support import all_records, connector
from tests.sandbox_hubspot.support import Portal, running_portal

CONTACTS = 10_000


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    with running_portal(leads=CONTACTS) as running:
        yield running


def test_read_and_write_back_10000_contacts_with_the_minimum_calls(portal: Portal) -> None:
    hub = connector(portal)
    records = all_records(hub.read_changed("contacts", None))
    assert len(records) == len({r.id for r in records}) == CONTACTS
    outcomes = hub.write("contacts", [FieldUpdate("contacts", r.id, {"baton_score": 10 + i % 90})
                                      for i, r in enumerate(records)])
    assert all(o.ok for o in outcomes)
    ledger = hub.ledger.snapshot()
    assert ledger["read"]["calls"] == ledger["read"]["minimum"] == 50          # 10,000 / 200 per search page
    assert ledger["write"]["calls"] == ledger["write"]["minimum"] == 100       # 10,000 / 100 per batch update
    assert hub.ledger.total_calls == hub.ledger.total_minimum == 150
    counted = portal.admin("GET", "counters")["calls"]
    assert counted == {"POST /crm/v3/objects/contacts/search": 50, "POST /crm/v3/objects/contacts/batch/update": 100}


def test_search_past_the_10000_cap_reads_each_record_exactly_once(portal: Portal) -> None:
    extra = [{"properties": {"email": f"extra{i}@scale.example", "lifecyclestage": "lead"}} for i in range(600)]
    for start in range(0, len(extra), 100):
        portal.sdk().crm.contacts.batch_api.create({"inputs": extra[start:start + 100]})
    hub = connector(portal)
    records = all_records(hub.read_changed("contacts", None))
    assert len(records) == len({r.id for r in records}) == CONTACTS + 600
    order = [(r.modified_at, int(r.id)) for r in records]      # HubSpot ids are numbers: compare them as such
    assert order == sorted(order)
    # every page is a fresh keyset query at offset 0, so the cap never applies: the minimum calls
    assert hub.ledger.snapshot()["read"]["calls"] == -(-(CONTACTS + 600) // 200) == 53


def test_more_than_10000_records_sharing_one_timestamp_are_each_read_once(portal: Portal) -> None:
    """Past the cap with every record at one millisecond: the reader pages by hs_object_id instead."""
    table = portal.sandbox.store.tables["contacts"]
    ids = [str(i) for i in table.ids[:10_300]]
    stamp_ms = table.by_modified[-1][0] + 1       # after every other record, and in the past (read-bounded)
    portal.admin("POST", "touch", {"object": "contacts", "ids": ids, "modified": str(stamp_ms)})
    hub = connector(portal)
    since = Watermark(dt.datetime.fromtimestamp(stamp_ms / 1000, tz=dt.UTC))
    records = all_records(hub.read_changed("contacts", since, lookback=dt.timedelta(0)))
    assert sorted(r.id for r in records) == sorted(ids)
    assert len(records) == len({r.id for r in records})
    # page 1 (200 tied: too many for NOT_IN), all 10,300 by id (52, the first 200 again), "modified > t" (1)
    assert hub.ledger.snapshot()["read"]["calls"] == 1 + 52 + 1
