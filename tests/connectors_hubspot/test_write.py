"""Write-back: only changed fields, 207 partial failures, lifecycle clear-then-set."""
from __future__ import annotations

from connectors.records import FieldUpdate
from tests.connectors_hubspot.support import connector
from tests.sandbox_hubspot.support import Portal, contact_ids


def _at_stage(portal: Portal, stage: str, count: int) -> list[str]:
    return [str(r.id) for r in portal.sandbox.store.tables["contacts"].records.values()
            if r.properties.get("lifecyclestage") == stage][:count]


def test_partial_failures_are_outcomes_and_good_records_are_written(portal: Portal) -> None:
    ids = contact_ids(portal, 4)
    portal.admin("PUT", "faults", {"fail_records": {ids[2]: "Injected failure"}})
    hub = connector(portal)
    outcomes = hub.write("contacts", [
        FieldUpdate("contacts", ids[0], {"baton_score": 61}),
        FieldUpdate("contacts", ids[1], {"segment": "not-a-segment"}),
        FieldUpdate("contacts", ids[2], {"baton_score": 62}),
        FieldUpdate("contacts", ids[3], {"baton_score": 63.0, "seminar_attended": True})])
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[1].error_code == "VALIDATION_ERROR" and outcomes[1].fields == ("segment",)
    assert outcomes[1].extra == {"codes": ["INVALID_OPTION"]}
    assert outcomes[2].message == "Injected failure"
    fetched = {r.id: r for r in hub.fetch("contacts", ids)}
    assert fetched[ids[0]].fields["score"] == 61 and fetched[ids[3]].fields["seminar_attended"] is True
    assert fetched[ids[2]].fields["score"] != 62
    assert hub.ledger.snapshot()["write"]["calls"] == 1


def test_only_changed_fields_are_sent_and_a_second_plan_is_empty(portal: Portal) -> None:
    hub = connector(portal)
    record = hub.fetch("contacts", contact_ids(portal, 5)[4:5])[0]
    desired = {"score": 88.0, "recycle_reason": "no budget", "email": record.fields["email"]}
    update = hub.plan_update(record, desired)
    assert update is not None and update.changes == {"baton_score": 88.0, "baton_recycle_reason": "no budget"}
    events = []
    portal.sandbox.store.add_listener(events.append)
    assert hub.write("contacts", [update])[0].ok
    assert events[-1].changes == {"baton_score": "88", "baton_recycle_reason": "no budget"}
    assert hub.plan_update(hub.fetch("contacts", [record.id])[0], desired) is None


def test_backward_lifecycle_is_cleared_then_set_in_two_ordered_calls(portal: Portal) -> None:
    backward = _at_stage(portal, "marketingqualifiedlead", 2)
    forward = _at_stage(portal, "subscriber", 1)
    events = []
    portal.sandbox.store.add_listener(lambda e: events.append((e.record_id, e.changes.get("lifecyclestage", "-"))))
    hub = connector(portal)
    updates = [FieldUpdate("contacts", i, {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS"})
               for i in (*backward, *forward)]
    assert all(o.ok for o in hub.write("contacts", updates))
    stages = {(p.properties["lifecyclestage"], p.properties["hs_lead_status"])
              for p in (portal.sandbox.store.get("contacts", u.id) for u in updates)}
    assert stages == {("lead", "IN_PROGRESS")}
    assert events[:2] == [(backward[0], None), (backward[1], None)]            # the clear comes first
    assert set(events[2:]) == {(i, "lead") for i in (*backward, *forward)}
    calls = hub.ledger.snapshot()
    assert calls["write_check"]["calls"] == 1
    assert calls["write_clear"]["calls"] == 1 and calls["write"]["calls"] == 1


def test_an_empty_or_unchanged_write_makes_no_call(portal: Portal) -> None:
    hub = connector(portal)
    outcomes = hub.write("contacts", [FieldUpdate("contacts", contact_ids(portal, 1)[0], {})])
    assert outcomes[0].ok and hub.ledger.total_calls == 0


def test_company_lifecycle_also_moves_backward_by_clear_then_set(portal: Portal) -> None:
    hub = connector(portal)
    company_id = str(next(iter(portal.sandbox.store.tables["companies"].records)))
    assert hub.write("companies", [FieldUpdate("companies", company_id, {"lifecyclestage": "customer"})])[0].ok
    assert hub.write("companies", [FieldUpdate("companies", company_id, {"lifecyclestage": "lead"})])[0].ok
    assert portal.sandbox.store.get("companies", company_id).properties["lifecyclestage"] == "lead"
    calls = hub.ledger.snapshot()
    assert calls["write"]["calls"] == 2 and calls["write_clear"]["calls"] == 1   # forward set, then clear + set
