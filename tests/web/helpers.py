"""Building signed deliveries the way HubSpot and Salesforce send them.

HubSpot signatures are computed with the HubSpot SDK's own ``Signature.get_signature`` (what the
sandbox uses), so the service's verifier is checked against an independent implementation.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hubspot.utils.signature import Signature

from app.web.signatures import baton_signature
from tests.web.conftest import HUBSPOT_SECRET, SALESFORCE_ORG, SALESFORCE_SECRET


def hubspot_event(
    object_id: int,
    event_id: int,
    *,
    subscription_type: str = "contact.propertyChange",
    subscription_id: int = 25,
    occurred_at: int = 1_700_000_000_000,
    attempt: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": subscription_id,
        "portalId": 33,
        "appId": 1160452,
        "occurredAt": occurred_at,
        "subscriptionType": subscription_type,
        "attemptNumber": attempt,
        "objectId": object_id,
        "changeSource": "CRM_UI",
        "propertyName": "lifecyclestage",
        "propertyValue": "lead",
        **extra,
    }


def hubspot_v3_headers(
    body: bytes, url: str, *, secret: str = HUBSPOT_SECRET, timestamp_ms: int | None = None
) -> dict[str, str]:
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    signature = Signature.get_signature(secret, body.decode(), "v3", url, "POST", timestamp)
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def hubspot_legacy_headers(
    body: bytes, url: str, version: str, *, secret: str = HUBSPOT_SECRET
) -> dict[str, str]:
    signature = Signature.get_signature(secret, body.decode(), version, url, "POST")
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature": signature,
        "X-HubSpot-Signature-Version": version,
    }


def as_body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def outbound_message(notifications: list[tuple[str, str, str]], *, org_id: str = SALESFORCE_ORG) -> bytes:
    """A SOAP Outbound Message; each notification is (notification id, sObject type, record id)."""
    items = "".join(
        f"<Notification><Id>{nid}</Id>"
        f'<sObject xsi:type="sf:{kind}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{rid}</sf:Id><sf:Status>Nurturing</sf:Status></sObject></Notification>"
        for nid, kind, rid in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId><ActionId>04k5e000000CaRkAAK</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/59.0/00D5e000000KQ2e</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5e000000KQ2e</PartnerUrl>"
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def notification_id(n: int) -> str:
    return f"04l5e00000Gx{n:03d}AAJ"


def lead_id(n: int) -> str:
    return f"00Q5e00000Ab{n:03d}EAA"


def callout_headers(
    body: bytes, *, secret: str = SALESFORCE_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Baton-Timestamp": stamp,
        "X-Baton-Signature": baton_signature(secret, stamp, body),
    }
