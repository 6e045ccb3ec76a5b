"""API calls to read and write back 10,000 records against the theoretical minimum.

This test is about scale (10,000 leads): a clean full read must take exactly ceil(10,000 / 2,000) = 5
query pages and the write-back exactly ceil(10,000 / 200) = 50 sObject Collections calls. It asserts
the call counts (behaviour), never the time taken.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.records import FieldUpdate
from connectors.sandbox.server import TlsFiles
from tests.connectors_salesforce.support import connector
from tests.sandbox_salesforce.support import LiveSandbox, start


@pytest.fixture()
def live10k(sf_tls: TlsFiles) -> Iterator[LiveSandbox]:
    yield from start(sf_tls, leads=10_000)


def test_read_and_write_back_10000_leads_in_the_minimum_number_of_calls(live10k: LiveSandbox) -> None:
    sf = connector(live10k)
    live10k.admin("DELETE", "counters")
    records = [r for page in sf.read_changed("Lead", None) for r in page]
    assert len(records) == 10_000 and len({r.id for r in records}) == 10_000
    outcomes = sf.write("Lead", [FieldUpdate("Lead", r.id, {"Lead_Score__c": 55.0}) for r in records])
    assert len(outcomes) == 10_000
    converted = {r.id for r in records if r.fields["converted"]}
    assert {o.id for o in outcomes if not o.ok} == converted          # converted leads stay read-only
    assert {o.error_code for o in outcomes if not o.ok} == {"CANNOT_UPDATE_CONVERTED_LEAD"}
    ledger = sf.ledger.snapshot()
    assert (ledger["read"]["calls"], ledger["read"]["minimum"]) == (5, 5)
    assert (ledger["write"]["calls"], ledger["write"]["minimum"]) == (50, 50)
    assert sf.ledger.total_calls == sf.ledger.total_minimum == 55
    assert live10k.admin("GET", "counters")["calls"] == {"GET query": 1, "GET query/{locator}": 4,
                                                         "PATCH composite/sobjects": 50}
