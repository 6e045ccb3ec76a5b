"""Salesforce Outbound Messages end to end: the sandbox's SOAP notifications -> Baton -> the org."""
from __future__ import annotations

import datetime as dt

import requests

from app.demo.webhooks_phase import subscribe
from app.store import DecisionStatus
from tests.service_e2e.conftest import Live, wait_for

OTHER_ORG = "00D5e000000KQ2eEAG"


def _outbound_settings(live: Live, **changes: object) -> None:
    sf = live.info["salesforce"]
    body = {"target_url": f"{live.service.url}/webhooks/salesforce", "objects": ["Lead"],
            "organization_id": live.service.organization_id, "batch_ms": 20, "backoff_scale": 0.001, **changes}
    requests.post(f"{sf['instance_url']}/_sandbox/outbound", json=body, verify=sf["ca_cert"],
                  timeout=10).raise_for_status()


def _edit(live: Live, lead: str, fields: dict[str, object]) -> None:
    sf = live.info["salesforce"]
    requests.post(f"{sf['instance_url']}/_sandbox/edit", json={"object": "Lead", "id": lead, "fields": fields},
                  verify=sf["ca_cert"], timeout=10).raise_for_status()


def _post_soap(live: Live, body: bytes) -> requests.Response:
    outbound = live.senders.salesforce
    assert outbound.settings is not None
    return requests.post(f"{live.service.url}/webhooks/salesforce", data=body,
                         headers={"Content-Type": "text/xml"}, timeout=10)


def test_an_outbound_message_becomes_a_written_status(live: Live) -> None:
    lead = live.snapshot_ids("salesforce", "Lead", "Status", "Nurturing")[0]
    live.wait_idle()
    _edit(live, lead, {"Catalogue_Requested__c": True, "Last_Activity_Date__c": dt.date.today().isoformat()})
    wait_for(lambda: live.salesforce_record("Lead", lead).get("Status") == "Qualified",
             "Baton to qualify the lead through the Outbound Message")
    live.wait_idle()
    moves = [d for d in live.ctx.store.record_history("salesforce", "Lead", lead)
             if d.status is DecisionStatus.WRITTEN and d.from_stage != d.to_stage]
    assert [(d.from_stage, d.to_stage, d.rule_id) for d in moves] == [("nurturing", "qualified", "qualify_hand_raiser")]
    acked = [r for r in live.senders.salesforce.deliverer.records if r.outcome == "delivered"]
    assert acked and all(r.status == 200 for r in acked)


def test_an_outbound_message_from_another_org_is_refused(live: Live) -> None:
    lead = live.snapshot_ids("salesforce", "Lead", "Status", "Nurturing")[1]
    live.wait_idle()
    settings = live.senders.salesforce.settings
    assert settings is not None
    message = live.senders.salesforce.envelope(
        type(settings)(settings.target_url, ("Lead",), OTHER_ORG), "Lead", [("04l5g0000000000999", lead)])
    answer = _post_soap(live, message.encode())
    assert answer.status_code == 403
    assert "text/xml" in answer.headers["Content-Type"] and OTHER_ORG in answer.text
    assert live.queued_jobs() == 0


def test_the_sandbox_retries_an_unacknowledged_message_until_acked(live: Live) -> None:
    """Baton refuses the wrong org (403, no Ack): Salesforce keeps retrying with backoff; once the
    org is right, the next retry is acknowledged."""
    outbound = live.senders.salesforce
    lead = live.snapshot_ids("salesforce", "Lead", "Status", "Nurturing")[2]
    live.wait_idle()
    before = len(outbound.deliverer.records)
    _outbound_settings(live, organization_id=OTHER_ORG, backoff_scale=0.002)
    _edit(live, lead, {"Web_Visits__c": 2})
    wait_for(lambda: len([r for r in outbound.deliverer.records[before:] if r.status == 403]) >= 3,
             "three refused attempts")
    refused = [r for r in outbound.deliverer.records[before:] if r.status == 403]
    assert [r.attempt for r in refused[:3]] == [0, 1, 2]
    assert all(r.outcome == "retry" for r in refused[:3])
    subscribe(live.info, live.service, backoff_scale=0.001, batch_ms=20)


def test_malformed_outbound_messages_get_400_with_a_reason(live: Live) -> None:
    live.wait_idle()
    for body, reason in ((b"<not-xml", "well-formed"),
                         (b'<?xml version="1.0"?><Envelope/>', "Envelope"),
                         (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD")):
        answer = _post_soap(live, body)
        assert answer.status_code == 400, answer.text
        assert reason.lower() in answer.text.lower()
    assert live.queued_jobs() == 0
