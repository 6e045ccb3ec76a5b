"""HubSpot webhooks end to end: the sandbox's signed deliveries -> Baton -> workers -> the CRM."""
from __future__ import annotations

import datetime as dt
import json
import time

import requests

from app.store import DecisionStatus
from connectors.sandbox.webhooks import signed_headers
from tests.service_e2e.conftest import Live, wait_for


def _nurturing_contacts(live: Live) -> list[str]:
    return live.snapshot_ids("hubspot", "contacts", "hs_lead_status", "IN_PROGRESS")


def _delivery(live: Live, object_id: int, event_id: int, *, attempt: int = 0,
              occurred_at: int | None = None) -> bytes:
    return json.dumps([{"eventId": event_id, "subscriptionId": 3, "portalId": 62515, "appId": 1160452,
                        "occurredAt": occurred_at or int(time.time() * 1000),
                        "subscriptionType": "contact.propertyChange", "attemptNumber": attempt,
                        "objectId": object_id, "changeSource": "CRM_UI", "propertyName": "web_visits",
                        "propertyValue": "3"}]).encode()


def _edit(live: Live, contact: str, properties: dict[str, str]) -> None:
    response = requests.post(f"{live.info['hubspot']['host']}/_sandbox/edit", timeout=10,
                             json={"object": "contacts", "id": contact, "properties": properties})
    assert response.status_code == 200, response.text


def _post(live: Live, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{live.service.url}/webhooks/hubspot", data=body, headers=headers, timeout=10)


def _signed(live: Live, body: bytes, timestamp_ms: int | None = None) -> dict[str, str]:
    url = f"{live.service.url}/webhooks/hubspot"
    return signed_headers(live.service.hubspot_secret, url, body.decode(), timestamp_ms)


def test_a_hubspot_change_becomes_a_written_stage_through_the_webhook(live: Live) -> None:
    contact = _nurturing_contacts(live)[0]
    live.wait_idle()
    deliveries_before = len(live.senders.hubspot.deliverer.records)
    # An inquiry is an activity: the rep's edit records both (as HubSpot's form submission would).
    _edit(live, contact, {"inquiry_submitted": "true", "last_activity_date": dt.date.today().isoformat()})

    wait_for(lambda: live.hubspot_record("contacts", contact).get("lifecyclestage") == "marketingqualifiedlead",
             "Baton to qualify the contact through the webhook")
    live.wait_idle()
    decisions = live.ctx.store.record_history("hubspot", "contacts", contact)
    moves = [d for d in decisions if d.status is DecisionStatus.WRITTEN and d.from_stage != d.to_stage]
    assert [(d.from_stage, d.to_stage) for d in moves] == [("nurturing", "qualified")]
    assert moves[0].run_id and moves[0].run_id.startswith("webhook-")
    # Baton's own write came back as a webhook (lifecyclestage changed by INTEGRATION) ...
    sent = live.senders.hubspot.deliverer.records[deliveries_before:]
    assert sum(r.items for r in sent if r.outcome == "delivered") >= 2
    # ... and re-evaluating it decided nothing new: no loop.
    assert len(live.ctx.store.record_history("hubspot", "contacts", contact)) == len(decisions)


def test_duplicate_and_replayed_deliveries_change_nothing(live: Live) -> None:
    contact = int(_nurturing_contacts(live)[1])
    live.wait_idle()
    body = _delivery(live, contact, event_id=990001)
    headers = _signed(live, body)
    first = _post(live, body, headers)
    assert first.status_code == 200 and first.json()["records"] == {"contacts": 1}
    live.wait_idle()
    decisions = len(live.ctx.store.record_history("hubspot", "contacts", str(contact)))

    replay = _post(live, body, headers)                 # the captured request, byte for byte
    retry_body = json.loads(body)
    retry_body[0]["attemptNumber"] = 1                  # HubSpot's retry: same event, new signature
    retried = json.dumps(retry_body).encode()
    retry = _post(live, retried, _signed(live, retried))

    for answer in (replay, retry):
        assert answer.status_code == 200
        assert answer.json()["duplicates"] == 1 and answer.json()["jobs"] == []
    assert live.queued_jobs() == 0
    assert len(live.ctx.store.record_history("hubspot", "contacts", str(contact))) == decisions


def test_bad_or_stale_signatures_get_401_and_enqueue_nothing(live: Live) -> None:
    contact = int(_nurturing_contacts(live)[2])
    live.wait_idle()
    body = _delivery(live, contact, event_id=990002)
    wrong = _signed(live, body)
    wrong["X-HubSpot-Signature-v3"] = wrong["X-HubSpot-Signature-v3"][::-1]
    stale_at = int((time.time() - 6 * 60) * 1000)
    stale = _signed(live, body, timestamp_ms=stale_at)
    unsigned = {"Content-Type": "application/json"}
    for headers in (wrong, stale, unsigned):
        answer = _post(live, body, headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "unauthorized"
        assert live.queued_jobs() == 0
    # Nothing was claimed either: the same event, properly signed, is processed.
    good = _post(live, body, _signed(live, body))
    assert good.status_code == 200 and good.json()["records"] == {"contacts": 1}


def test_malformed_hubspot_bodies_get_400_with_a_reason(live: Live) -> None:
    live.wait_idle()
    for body, reason in ((b"{not json", "JSON"), (b'{"objectId": 1}', "array"),
                         (json.dumps([{"subscriptionType": "contact.propertyChange", "objectId": -4,
                                       "eventId": 1, "subscriptionId": 1, "occurredAt": 1}]).encode(),
                          "objectId")):
        answer = _post(live, body, _signed(live, body))
        assert answer.status_code == 400, answer.text
        assert reason.lower() in answer.json()["reason"].lower()
    assert live.queued_jobs() == 0


def test_the_sandbox_retries_failed_deliveries_with_a_higher_attempt_number(live: Live) -> None:
    """A delivery answered 503 is retried (attemptNumber + 1); a 401 would not have been."""
    hooks = live.senders.hubspot
    before = len(hooks.deliverer.records)
    live.redis.set("baton:test:unused", 1)            # touch nothing Baton uses
    # Make Baton answer 401 once by delivering under a wrong secret: HubSpot must not retry it.
    settings = hooks.settings
    assert settings is not None
    requests.post(f"{live.info['hubspot']['host']}/_sandbox/webhooks", timeout=10, json={
        "target_url": settings.target_url, "client_secret": "not-the-secret",
        "subscriptions": [{"objectType": "contact", "propertyName": "web_visits"}],
        "batch_ms": 10, "backoff_scale": 0.001}).raise_for_status()
    contact = _nurturing_contacts(live)[3]
    requests.post(f"{live.info['hubspot']['host']}/_sandbox/edit", timeout=10,
                  json={"object": "contacts", "id": contact, "properties": {"web_visits": "1"}}).raise_for_status()
    wait_for(lambda: any(r.status == 401 for r in hooks.deliverer.records[before:]), "the refused delivery")
    time.sleep(0.5)
    refused = [r for r in hooks.deliverer.records[before:] if r.status == 401]
    assert [r.attempt for r in refused] == [0] and refused[0].outcome == "refused"
    # Restore the real subscription for the other tests.
    from app.demo.webhooks_phase import subscribe
    subscribe(live.info, live.service, backoff_scale=0.001, batch_ms=20)


def test_a_flapping_record_is_left_to_the_scheduled_sync(live: Live) -> None:
    """When Baton wrote a record's stage back and forth (rules contradicting each other for it),
    a webhook about it re-evaluates nothing: otherwise each write's own webhook would flip it
    again, in a loop against the CRM's API limits."""
    from app.pipeline.webhook_sync import FLAP_LIMIT
    from app.store import DecisionEvent, NewDecision

    contact = _nurturing_contacts(live)[4]
    live.wait_idle()
    now = dt.datetime.now(dt.UTC)
    flips = [("nurturing", "qualified"), ("qualified", "nurturing")][:FLAP_LIMIT]
    logged = live.ctx.store.log_decisions([
        NewDecision("hubspot", "contacts", contact, "lead", "test", {"stage": {"from": a, "to": b}},
                    f"flip {n}", rule_id=f"flip_{n}", from_stage=a, to_stage=b,
                    record_modified_at=now - dt.timedelta(seconds=n), decided_at=now)
        for n, (a, b) in enumerate(flips)])
    live.ctx.store.add_events(DecisionEvent(d.decision_id, DecisionStatus.WRITTEN) for d in logged)
    deliveries = len(live.senders.hubspot.deliverer.records)

    _edit(live, contact, {"inquiry_submitted": "true", "last_activity_date": dt.date.today().isoformat()})
    wait_for(lambda: live.senders.hubspot.deliverer.records[deliveries:], "the webhook")
    live.wait_idle(settle_s=1.0)
    assert live.hubspot_record("contacts", contact).get("lifecyclestage") == "lead"     # not qualified
    assert len(_stage_writes(live, contact)) == FLAP_LIMIT                                # nothing new


def _stage_writes(live: Live, contact: str) -> list[tuple[str | None, str | None]]:
    return [(d.from_stage, d.to_stage) for d in live.ctx.store.record_history("hubspot", "contacts", contact)
            if d.status is DecisionStatus.WRITTEN and d.from_stage != d.to_stage]
