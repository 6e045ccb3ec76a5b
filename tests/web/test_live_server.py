"""The webhooks over a real socket: a threaded Werkzeug server on port 0, requests from ``requests``.

This checks what the test client cannot: the URL the signature covers as seen by a real server
(host and port), bodies read from a socket, and the size limit on a streamed body.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server

from app.web.services import InProcessServices
from tests.web.conftest import AppFactory
from tests.web.helpers import (
    as_body,
    hubspot_event,
    hubspot_v3_headers,
    lead_id,
    notification_id,
    outbound_message,
)


@pytest.fixture
def server(make_app: AppFactory) -> Iterator[str]:
    http: BaseWSGIServer = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join()
    http.server_close()


def test_signed_hubspot_delivery_over_a_socket(server: str, services: InProcessServices) -> None:
    url = f"{server}/webhooks/hubspot"
    events = [
        hubspot_event(101, 1),
        hubspot_event(7, 2, subscription_type="deal.propertyChange"),
        hubspot_event(102, 3),
    ]
    body = as_body(events)
    response = requests.post(url, data=body, headers=hubspot_v3_headers(body, url), timeout=10)
    assert response.status_code == 200
    assert response.json()["records"] == {"contacts": 2, "deals": 1}
    assert sorted((c.object, c.record_ids) for c in services.reevaluations) == [
        ("contacts", ["101", "102"]),
        ("deals", ["7"]),
    ]
    # HubSpot's retry of the same events, with a fresh signature, changes nothing.
    retry = as_body([{**event, "attemptNumber": 1} for event in events])
    again = requests.post(url, data=retry, headers=hubspot_v3_headers(retry, url), timeout=10)
    assert again.status_code == 200 and again.json()["duplicates"] == 3
    assert len(services.reevaluations) == 2


def test_bad_and_stale_signatures_over_a_socket(server: str, services: InProcessServices) -> None:
    url = f"{server}/webhooks/hubspot"
    body = as_body([hubspot_event(101, 1)])
    wrong_host = hubspot_v3_headers(body, url.replace("127.0.0.1", "localhost"))
    assert requests.post(url, data=body, headers=wrong_host, timeout=10).status_code == 401
    stale = hubspot_v3_headers(body, url, timestamp_ms=1_600_000_000_000)
    response = requests.post(url, data=body, headers=stale, timeout=10)
    assert response.status_code == 401 and response.headers["Content-Type"] == "application/json"
    assert services.reevaluations == []


def test_outbound_message_ack_over_a_socket(server: str, services: InProcessServices) -> None:
    body = outbound_message([(notification_id(1), "Lead", lead_id(1))])
    response = requests.post(
        f"{server}/webhooks/salesforce",
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        timeout=10,
    )
    assert response.status_code == 200 and "<Ack>true</Ack>" in response.text
    assert [(c.object, c.record_ids) for c in services.reevaluations] == [("Lead", [lead_id(1)])]


def test_oversized_body_over_a_socket_is_413_json(server: str, services: InProcessServices) -> None:
    url = f"{server}/webhooks/hubspot"
    body = as_body([hubspot_event(i, i) for i in range(400)])  # ~100 KB > the 64 KB test limit
    response = requests.post(url, data=body, headers=hubspot_v3_headers(body, url), timeout=10)
    assert response.status_code == 413 and response.json()["error"] == "request_entity_too_large"
    assert services.reevaluations == []


def test_concurrent_duplicate_deliveries_queue_once(server: str, services: InProcessServices) -> None:
    """Eight connections deliver the same events at once: Redis SET NX lets exactly one through."""
    url = f"{server}/webhooks/hubspot"
    body = as_body([hubspot_event(101, 1), hubspot_event(102, 2)])
    headers = hubspot_v3_headers(body, url)
    start = threading.Barrier(8)
    statuses: list[int] = []

    def deliver() -> None:
        start.wait()
        statuses.append(requests.post(url, data=body, headers=headers, timeout=10).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert [(c.object, c.record_ids) for c in services.reevaluations] == [("contacts", ["101", "102"])]
