"""POST /webhooks/hubspot through the Flask test client, with real Redis (DB 13) for dedupe."""

from __future__ import annotations

import json
import time

import pytest
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from app.web.services import InProcessServices
from app.web.signatures import hubspot_v3_signature
from tests.web.conftest import HUBSPOT_SECRET, AppFactory
from tests.web.helpers import as_body, hubspot_event, hubspot_legacy_headers, hubspot_v3_headers

URL = "http://localhost/webhooks/hubspot"


def post(client: FlaskClient, body: bytes, headers: dict[str, str]) -> TestResponse:
    return client.post("/webhooks/hubspot", data=body, headers=headers)


def deliver(client: FlaskClient, events: list[dict]) -> TestResponse:
    body = as_body(events)
    return post(client, body, hubspot_v3_headers(body, URL))


def calls(services: InProcessServices) -> list[tuple[str, str, list[str], str]]:
    return [(c.crm, c.object, c.record_ids, c.source) for c in services.reevaluations]


def test_valid_v3_delivery_queues_exactly_the_named_records(
    client: FlaskClient, services: InProcessServices
) -> None:
    response = deliver(client, [hubspot_event(101, 1), hubspot_event(102, 2)])
    assert response.status_code == 200
    assert response.json == {
        "received": 2,
        "duplicates": 0,
        "ignored": 0,
        "records": {"contacts": 2},
        "jobs": ["reevaluate-1"],
    }
    assert calls(services) == [("hubspot", "contacts", ["101", "102"], "webhook:hubspot")]


def test_many_events_are_batched_into_one_call_per_object(
    client: FlaskClient, services: InProcessServices
) -> None:
    events = [
        hubspot_event(101, 1),
        hubspot_event(7, 2, subscription_type="deal.propertyChange"),
        hubspot_event(102, 3),
        hubspot_event(101, 4, propertyName="email"),
        hubspot_event(55, 5, subscription_type="company.creation"),
        hubspot_event(8, 6, subscription_type="object.propertyChange", objectTypeId="0-3"),
    ]
    response = deliver(client, events)
    assert response.status_code == 200
    assert response.json["records"] == {"contacts": 2, "deals": 2, "companies": 1}
    assert sorted(calls(services)) == [
        ("hubspot", "companies", ["55"], "webhook:hubspot"),
        ("hubspot", "contacts", ["101", "102"], "webhook:hubspot"),
        ("hubspot", "deals", ["7", "8"], "webhook:hubspot"),
    ]


def test_hubspot_retry_of_a_delivery_changes_nothing(
    client: FlaskClient, services: InProcessServices
) -> None:
    events = [hubspot_event(101, 1), hubspot_event(102, 2)]
    assert deliver(client, events).status_code == 200
    # HubSpot's retry carries attemptNumber + 1 (a different body, a fresh signature): same events.
    retry = deliver(client, [{**event, "attemptNumber": 1} for event in events])
    assert retry.status_code == 200
    assert retry.json["duplicates"] == 2 and retry.json["records"] == {}
    assert len(services.reevaluations) == 1


def test_replayed_request_changes_nothing(client: FlaskClient, services: InProcessServices) -> None:
    body = as_body([hubspot_event(101, 1)])
    headers = hubspot_v3_headers(body, URL)
    assert post(client, body, headers).status_code == 200
    replay = post(client, body, headers)  # byte-identical, inside the 5-minute window
    assert replay.status_code == 200 and replay.json["duplicates"] == 1
    assert len(services.reevaluations) == 1


def test_a_new_event_on_the_same_record_is_queued_again(
    client: FlaskClient, services: InProcessServices
) -> None:
    deliver(client, [hubspot_event(101, 1)])
    deliver(client, [hubspot_event(101, 2, occurred_at=1_700_000_000_500)])
    assert [c.record_ids for c in services.reevaluations] == [["101"], ["101"]]


def test_same_event_twice_in_one_delivery_counts_once(
    client: FlaskClient, services: InProcessServices
) -> None:
    event = hubspot_event(101, 1)
    response = deliver(client, [event, event])
    assert response.json["duplicates"] == 1
    assert calls(services) == [("hubspot", "contacts", ["101"], "webhook:hubspot")]


@pytest.mark.parametrize("tamper", ["signature", "secret", "body", "uri"])
def test_bad_signature_gets_401_and_queues_nothing(
    client: FlaskClient, services: InProcessServices, tamper: str
) -> None:
    body = as_body([hubspot_event(101, 1)])
    headers = hubspot_v3_headers(
        body,
        "http://localhost/webhooks/other" if tamper == "uri" else URL,
        secret="wrong" if tamper == "secret" else HUBSPOT_SECRET,
    )
    if tamper == "signature":
        headers["X-HubSpot-Signature-v3"] = headers["X-HubSpot-Signature-v3"][:-4] + "AAA="
    sent = body.replace(b"101", b"999") if tamper == "body" else body
    response = post(client, sent, headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized" and "does not match" in response.json["reason"]
    assert services.reevaluations == []


def test_refused_delivery_does_not_mark_its_events_as_seen(
    client: FlaskClient, services: InProcessServices
) -> None:
    body = as_body([hubspot_event(101, 1)])
    bad = hubspot_v3_headers(body, URL, secret="wrong")
    assert post(client, body, bad).status_code == 401
    assert post(client, body, hubspot_v3_headers(body, URL)).json["duplicates"] == 0
    assert len(services.reevaluations) == 1


@pytest.mark.parametrize("age_seconds", [6 * 60, -6 * 60])
def test_stale_or_future_timestamp_gets_401(
    client: FlaskClient, services: InProcessServices, age_seconds: int
) -> None:
    body = as_body([hubspot_event(101, 1)])
    stamp = int((time.time() - age_seconds) * 1000)
    response = post(client, body, hubspot_v3_headers(body, URL, timestamp_ms=stamp))
    assert response.status_code == 401 and "window" in response.json["reason"]
    assert services.reevaluations == []


def test_unsigned_delivery_gets_401(client: FlaskClient, services: InProcessServices) -> None:
    response = client.post("/webhooks/hubspot", json=[hubspot_event(101, 1)])
    assert response.status_code == 401 and "v3" in response.json["reason"]
    assert services.reevaluations == []


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_legacy_signature_accepted_when_configured(
    make_app: AppFactory, services: InProcessServices, version: str
) -> None:
    client = make_app(BATON_HUBSPOT_SIGNATURE_VERSIONS=f"v3,{version}").test_client()
    body = as_body([hubspot_event(101, 1)])
    response = post(client, body, hubspot_legacy_headers(body, URL, version))
    assert response.status_code == 200
    assert calls(services) == [("hubspot", "contacts", ["101"], "webhook:hubspot")]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_legacy_signature_refused_by_default(
    client: FlaskClient, services: InProcessServices, version: str
) -> None:
    body = as_body([hubspot_event(101, 1)])
    assert post(client, body, hubspot_legacy_headers(body, URL, version)).status_code == 401
    assert services.reevaluations == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b'{"eventId": 1}', "JSON array"),
        (b"[1]", "event 0: must be a JSON object"),
        (
            json.dumps([{k: v for k, v in hubspot_event(1, 1).items() if k != "objectId"}]).encode(),
            "event 0: objectId",
        ),
        (
            json.dumps([hubspot_event(1, 1), {**hubspot_event(2, 2), "objectId": "2"}]).encode(),
            "event 1: objectId",
        ),
        (json.dumps([{**hubspot_event(1, 1), "eventId": True}]).encode(), "event 0: eventId"),
        (json.dumps([{**hubspot_event(1, 1), "subscriptionType": 5}]).encode(), "subscriptionType"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_delivery_gets_400_with_a_reason(
    client: FlaskClient, services: InProcessServices, body: bytes, reason: str
) -> None:
    # Signed over the raw bytes (the SDK helper only signs text), so only the shape is wrong.
    stamp = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": hubspot_v3_signature(HUBSPOT_SECRET, "POST", URL, body, stamp),
    }
    response = post(client, body, headers)
    assert response.status_code == 400
    assert response.json["error"] == "bad_request" and reason in response.json["reason"]
    assert services.reevaluations == []


def test_deletions_and_unsynced_objects_are_ignored(client: FlaskClient, services: InProcessServices) -> None:
    events = [
        hubspot_event(101, 1, subscription_type="contact.deletion"),
        hubspot_event(5, 2, subscription_type="ticket.creation"),
        hubspot_event(6, 3, subscription_type="object.propertyChange", objectTypeId="0-5"),
        hubspot_event(102, 4),
    ]
    response = deliver(client, events)
    assert response.json["ignored"] == 3
    assert calls(services) == [("hubspot", "contacts", ["102"], "webhook:hubspot")]


def test_oversized_delivery_gets_413_json(client: FlaskClient, services: InProcessServices) -> None:
    events = [hubspot_event(i, i) for i in range(1000)]  # ~250 KB, the test limit is 64 KB
    response = deliver(client, events)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert services.reevaluations == []


def test_queue_down_gets_503_and_the_retry_is_processed(
    client: FlaskClient, services: InProcessServices
) -> None:
    services.fail_enqueue = True
    events = [hubspot_event(101, 1)]
    response = deliver(client, events)
    assert response.status_code == 503 and "queue" in response.json["reason"]
    services.fail_enqueue = False
    retry = deliver(client, [{**events[0], "attemptNumber": 1}])
    assert retry.json["duplicates"] == 0
    assert calls(services) == [("hubspot", "contacts", ["101"], "webhook:hubspot")]


def test_signature_covers_the_public_url_behind_a_proxy(
    make_app: AppFactory, services: InProcessServices
) -> None:
    public_url = "https://hooks.example.com/webhooks/hubspot"
    body = as_body([hubspot_event(101, 1)])
    headers = {
        **hubspot_v3_headers(body, public_url),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
    }
    # Without ProxyFix the app sees http://localhost/... and the signature cannot match.
    assert make_app().test_client().post("/webhooks/hubspot", data=body, headers=headers).status_code == 401
    proxied = make_app(BATON_PROXY_FIX="x_proto=1,x_host=1").test_client()
    assert proxied.post("/webhooks/hubspot", data=body, headers=headers).status_code == 200
    assert len(services.reevaluations) == 1


def test_get_is_405_json(client: FlaskClient) -> None:
    response = client.get("/webhooks/hubspot")
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_dedupe_keys_live_in_redis_with_a_ttl(client: FlaskClient, redis: Redis) -> None:
    deliver(client, [hubspot_event(101, 1)])
    key = "baton:webhook:seen:hubspot:25:1:1700000000000:101"
    assert redis.exists(key) and 0 < redis.ttl(key) <= 2 * 24 * 3600
