"""POST /webhooks/salesforce: Outbound Messages (SOAP) and the signed JSON callout form."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.web.services import InProcessServices
from tests.web.conftest import AppFactory
from tests.web.helpers import callout_headers, lead_id, notification_id, outbound_message

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"


def send(client: FlaskClient, body: bytes) -> TestResponse:
    return client.post("/webhooks/salesforce", data=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def calls(services: InProcessServices) -> list[tuple[str, str, list[str]]]:
    return [(c.crm, c.object, c.record_ids) for c in services.reevaluations]


def fault_string(body: bytes) -> str:
    root = ET.fromstring(body)
    return root.find(f"{SOAP}Body/{SOAP}Fault/faultstring").text or ""  # type: ignore[union-attr]


def test_outbound_message_is_acknowledged_and_queued_per_object(
    client: FlaskClient, services: InProcessServices
) -> None:
    body = outbound_message(
        [
            (notification_id(1), "Lead", lead_id(1)),
            (notification_id(2), "Opportunity", "0065e00000ZkM3hAAF"),
            (notification_id(3), "Lead", lead_id(2)),
        ]
    )
    response = send(client, body)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    ack = root.find(f"{SOAP}Body/{OUTBOUND}notificationsResponse/{OUTBOUND}Ack")
    assert ack is not None and ack.text == "true"
    assert sorted(calls(services)) == [
        ("salesforce", "Lead", [lead_id(1), lead_id(2)]),
        ("salesforce", "Opportunity", ["0065e00000ZkM3hAAF"]),
    ]
    assert {c.source for c in services.reevaluations} == {"webhook:salesforce"}


def test_hundred_notifications_make_one_call(client: FlaskClient, services: InProcessServices) -> None:
    body = outbound_message([(notification_id(i), "Lead", lead_id(i)) for i in range(100)])
    assert send(client, body).status_code == 200
    assert calls(services) == [("salesforce", "Lead", [lead_id(i) for i in range(100)])]


def test_redelivered_message_is_acknowledged_and_changes_nothing(
    client: FlaskClient, services: InProcessServices
) -> None:
    body = outbound_message([(notification_id(1), "Lead", lead_id(1))])
    assert send(client, body).status_code == 200
    again = send(client, body)
    assert again.status_code == 200 and b"<Ack>true</Ack>" in again.data
    assert len(services.reevaluations) == 1


def test_message_from_another_org_is_refused_and_queues_nothing(
    client: FlaskClient, services: InProcessServices
) -> None:
    body = outbound_message([(notification_id(1), "Lead", lead_id(1))], org_id="00D000000000001AAA")
    response = send(client, body)
    assert response.status_code == 403 and response.mimetype == "text/xml"
    assert "00D000000000001AAA" in fault_string(response.data)
    assert services.reevaluations == []


def test_org_id_configured_in_15_character_form_matches(
    make_app: AppFactory, services: InProcessServices
) -> None:
    client = make_app(BATON_SALESFORCE_ORGANIZATION_ID="00D5e000000KQ2e").test_client()
    assert send(client, outbound_message([(notification_id(1), "Lead", lead_id(1))])).status_code == 200
    assert len(services.reevaluations) == 1


def test_without_a_configured_org_every_message_is_refused(
    make_app: AppFactory, services: InProcessServices
) -> None:
    client = make_app(BATON_SALESFORCE_ORGANIZATION_ID="").test_client()
    assert send(client, outbound_message([(notification_id(1), "Lead", lead_id(1))])).status_code == 403
    assert services.reevaluations == []


def test_unsynced_object_is_acknowledged_but_ignored(
    client: FlaskClient, services: InProcessServices
) -> None:
    body = outbound_message([(notification_id(1), "Case", "5005e00000AbCdEAAA")])
    assert send(client, body).status_code == 200
    assert services.reevaluations == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<not-xml", "not well-formed XML"),
        (b"<a/>", "SOAP 1.1"),
        (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/>'
            b"</soapenv:Envelope>",
            "<notifications",
        ),
        (outbound_message([]), "no <Notification>"),
        (outbound_message([(notification_id(i), "Lead", lead_id(i)) for i in range(101)]), "at most 100"),
        (
            outbound_message([(notification_id(1), "Lead", "not-an-id")]),
            "Notification 0: <sObject> needs an <sf:Id>",
        ),
        (
            outbound_message([(notification_id(1), "Lead", lead_id(1))]).replace(b' xsi:type="sf:Lead"', b""),
            "xsi:type",
        ),
        (outbound_message([(notification_id(1), "Lead", lead_id(1))], org_id=""), "OrganizationId"),
    ],
)
def test_malformed_message_gets_400_fault_with_a_reason(
    client: FlaskClient, services: InProcessServices, body: bytes, reason: str
) -> None:
    response = send(client, body)
    assert response.status_code == 400
    assert reason in fault_string(response.data)
    assert services.reevaluations == []


def test_entities_and_dtds_are_refused(client: FlaskClient, services: InProcessServices) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>"
    )
    response = send(client, bomb)
    assert response.status_code == 400 and "DTD" in fault_string(response.data)
    assert services.reevaluations == []


def test_other_content_types_get_415_json(client: FlaskClient) -> None:
    response = client.post("/webhooks/salesforce", data=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and "text/xml" in response.json["reason"]


def callout(client: FlaskClient, payload: object, **header_options: object) -> TestResponse:
    body = json.dumps(payload).encode()
    return client.post("/webhooks/salesforce", data=body, headers=callout_headers(body, **header_options))


def test_signed_callout_queues_the_records(client: FlaskClient, services: InProcessServices) -> None:
    response = callout(client, {"object": "Lead", "ids": [lead_id(1), lead_id(2), lead_id(1)]})
    assert response.status_code == 200 and response.json["records"] == {"Lead": 2}
    assert calls(services) == [("salesforce", "Lead", [lead_id(1), lead_id(2)])]


def test_replayed_callout_changes_nothing(client: FlaskClient, services: InProcessServices) -> None:
    body = json.dumps({"object": "Lead", "ids": [lead_id(1)]}).encode()
    headers = callout_headers(body)
    assert client.post("/webhooks/salesforce", data=body, headers=headers).status_code == 200
    replay = client.post("/webhooks/salesforce", data=body, headers=headers)
    assert replay.status_code == 200 and replay.json["duplicates"] == 1
    assert len(services.reevaluations) == 1


@pytest.mark.parametrize("options", [{"secret": "wrong"}, {"timestamp": int(time.time()) - 600}])
def test_badly_signed_or_stale_callout_gets_401(
    client: FlaskClient, services: InProcessServices, options: dict
) -> None:
    response = callout(client, {"object": "Lead", "ids": [lead_id(1)]}, **options)
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert services.reevaluations == []


def test_unsigned_callout_gets_401(client: FlaskClient, services: InProcessServices) -> None:
    response = client.post("/webhooks/salesforce", json={"object": "Lead", "ids": [lead_id(1)]})
    assert response.status_code == 401 and "X-Baton-Signature" in response.json["reason"]
    assert services.reevaluations == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([lead_id(1)], "JSON object"),
        ({"ids": [lead_id(1)]}, "'object'"),
        ({"object": "Lead", "ids": []}, "non-empty"),
        ({"object": "Lead", "ids": ["nope"]}, "ids[0]"),
        ({"object": "Lead; DROP", "ids": [lead_id(1)]}, "'object'"),
        ({"object": "Case", "ids": ["5005e00000AbCdEAAA"]}, "does not sync"),
    ],
)
def test_malformed_callout_gets_400_with_a_reason(
    client: FlaskClient, services: InProcessServices, payload: object, reason: str
) -> None:
    response = callout(client, payload)
    assert response.status_code == 400 and reason in response.json["reason"]
    assert services.reevaluations == []
