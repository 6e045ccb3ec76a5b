"""A write that carries the values the caller last read needs no extra read to tell a backward
lifecycle move (the pipeline re-reads records before writing, so it always knows them)."""
from __future__ import annotations

from connectors.records import FieldUpdate
from tests.connectors_hubspot.support import connector
from tests.sandbox_hubspot.support import Portal


def _at_stage(portal: Portal, stage: str, count: int) -> list[str]:
    return [str(r.id) for r in portal.sandbox.store.tables["contacts"].records.values()
            if r.properties.get("lifecyclestage") == stage][:count]


def test_known_previous_stage_skips_the_check_read_and_still_clears_then_sets(portal: Portal) -> None:
    backward = _at_stage(portal, "marketingqualifiedlead", 2)
    hub = connector(portal)
    outcomes = hub.write("contacts", [
        FieldUpdate("contacts", i, {"lifecyclestage": "lead"}, previous={"lifecyclestage": "marketingqualifiedlead"})
        for i in backward])
    assert all(o.ok for o in outcomes)
    calls = hub.ledger.snapshot()
    assert "write_check" not in calls
    assert calls["write_clear"]["calls"] == 1 and calls["write"]["calls"] == 1     # clear, then set
    stored = portal.sandbox.store.tables["contacts"].records
    assert all(stored[int(i)].properties["lifecyclestage"] == "lead" for i in backward)


def test_without_previous_values_the_connector_reads_them(portal: Portal) -> None:
    backward = _at_stage(portal, "marketingqualifiedlead", 1)
    hub = connector(portal)
    hub.write("contacts", [FieldUpdate("contacts", backward[0], {"lifecyclestage": "lead"})])
    assert hub.ledger.snapshot()["write_check"]["calls"] == 1
