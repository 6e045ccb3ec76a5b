"""Salesforce Outbound Messages (SOAP) and Baton's JSON callout form: parse, validate, answer.

An Outbound Message is a SOAP 1.1 envelope whose body holds ``<notifications>`` with the sending
``<OrganizationId>`` and up to 100 ``<Notification>`` elements, each with its own ``<Id>`` (used for
dedupe) and an ``<sObject xsi:type="sf:Lead">`` carrying ``<sf:Id>``. Salesforce retries until it
gets ``<Ack>true</Ack>``.

XML is parsed with :mod:`defusedxml`: no DTDs, no entities, no external references.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100
MAX_CALLOUT_IDS = 200
_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

ACK_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


class MalformedMessage(ValueError):
    """The body is not a valid Outbound Message or callout; the message says why."""


@dataclass(frozen=True, slots=True)
class SalesforceNotification:
    """One notification: its own id (for dedupe) and the record it names."""

    notification_id: str
    object: str
    record_id: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    organization_id: str
    notifications: list[SalesforceNotification]


def same_organization(received: str, configured: str) -> bool:
    """Org ids come in 15- and 18-character forms; the first 15 characters identify the org."""
    return bool(configured) and received[:15] == configured[:15]


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse a SOAP Outbound Message; raise :class:`MalformedMessage` with a reason."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MalformedMessage("XML with a DTD or entities is refused") from None
    except ParseError as exc:
        raise MalformedMessage(f"body is not well-formed XML ({exc})") from None
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise MalformedMessage("root element must be a SOAP 1.1 soapenv:Envelope")
    notifications = root.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedMessage(f"soapenv:Body must contain <notifications xmlns=\"{OUTBOUND_NS}\">")
    org_id = _text(notifications, "OrganizationId")
    if not org_id or not _SALESFORCE_ID.match(org_id):
        raise MalformedMessage("<OrganizationId> is missing or not a Salesforce id")
    items = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise MalformedMessage("no <Notification> elements")
    if len(items) > MAX_NOTIFICATIONS:
        raise MalformedMessage(f"{len(items)} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}")
    return OutboundMessage(org_id, [_notification(i, item) for i, item in enumerate(items)])


def _notification(index: int, item: Element) -> SalesforceNotification:
    where = f"Notification {index}"
    notification_id = _text(item, "Id")
    if not notification_id or not _SALESFORCE_ID.match(notification_id):
        raise MalformedMessage(f"{where}: <Id> is missing or not a Salesforce id")
    sobject = item.find(f"{{{OUTBOUND_NS}}}sObject")
    if sobject is None:
        raise MalformedMessage(f"{where}: <sObject> is missing")
    object_name = _object_name(sobject)
    if object_name is None:
        raise MalformedMessage(f"{where}: <sObject> needs xsi:type=\"sf:<Object>\"")
    record_id = _record_id(sobject)
    if record_id is None or not _SALESFORCE_ID.match(record_id):
        raise MalformedMessage(f"{where}: <sObject> needs an <sf:Id> holding a Salesforce id")
    return SalesforceNotification(notification_id, object_name, record_id)


def _text(parent: Element, local_name: str) -> str:
    child = parent.find(f"{{{OUTBOUND_NS}}}{local_name}")
    return (child.text or "").strip() if child is not None else ""


def _object_name(sobject: Element) -> str | None:
    xsi_type = sobject.get(f"{{{XSI_NS}}}type", "")
    name = xsi_type.rpartition(":")[2]
    return name if _OBJECT_NAME.match(name) else None


def _record_id(sobject: Element) -> str | None:
    # The sObject fields live in the enterprise or partner namespace, whichever prefix is used.
    for child in sobject:
        if child.tag.rpartition("}")[2] == "Id":
            return (child.text or "").strip()
    return None


def soap_fault(code: str, reason: str) -> str:
    """A SOAP 1.1 fault body; Salesforce shows ``faultstring`` in its outbound-message queue."""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>soapenv:{escape(code)}</faultcode><faultstring>{escape(reason)}</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")


@dataclass(frozen=True, slots=True)
class Callout:
    """A JSON callout from a Flow or Apex: re-evaluate these records of one object."""

    object: str
    record_ids: list[str]


def parse_callout(body: bytes) -> Callout:
    """Parse ``{"object": "Lead", "ids": ["00Q..."]}``; raise :class:`MalformedMessage`."""
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedMessage('body must be a JSON object like {"object": "Lead", "ids": [...]}')
    object_name, ids = payload.get("object"), payload.get("ids")
    if not isinstance(object_name, str) or not _OBJECT_NAME.match(object_name):
        raise MalformedMessage("'object' must be a Salesforce object name such as 'Lead'")
    if not isinstance(ids, list) or not ids:
        raise MalformedMessage("'ids' must be a non-empty array of Salesforce ids")
    if len(ids) > MAX_CALLOUT_IDS:
        raise MalformedMessage(f"'ids' has {len(ids)} entries; at most {MAX_CALLOUT_IDS}")
    for index, record_id in enumerate(ids):
        if not isinstance(record_id, str) or not _SALESFORCE_ID.match(record_id):
            raise MalformedMessage(f"ids[{index}] is not a 15- or 18-character Salesforce id")
    return Callout(object_name, list(dict.fromkeys(ids)))
