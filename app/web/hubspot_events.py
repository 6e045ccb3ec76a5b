"""HubSpot webhook payloads: validate the event array and turn it into records to re-evaluate.

A delivery is a JSON array of events such as
``{"eventId": 1, "subscriptionId": 25, "portalId": 33, "occurredAt": 1462216307945,
"subscriptionType": "contact.propertyChange", "objectId": 1246965, ...}``. Generic ``object.*``
subscriptions name the type with ``objectTypeId`` (``0-1`` contacts, ``0-2`` companies, ``0-3`` deals).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_EVENTS = 1000  # HubSpot sends at most 100; more is not HubSpot

# subscriptionType prefix (or objectTypeId) -> the CRM object name the connectors use.
_OBJECT_BY_PREFIX: Mapping[str, str] = {"contact": "contacts", "company": "companies", "deal": "deals"}
_OBJECT_BY_TYPE_ID: Mapping[str, str] = {"0-1": "contacts", "0-2": "companies", "0-3": "deals"}
# Nothing to write back to a record that no longer exists.
_IGNORED_ACTIONS = frozenset({"deletion", "privacyDeletion"})
_REQUIRED_INTEGERS = ("eventId", "subscriptionId", "occurredAt", "objectId")


class MalformedPayload(ValueError):
    """The body is not a HubSpot event array; the message names what is wrong and where."""


@dataclass(frozen=True, slots=True)
class HubSpotEvent:
    """The parts of one event Baton uses. ``object`` is ``None`` for events Baton ignores."""

    dedupe_key: str
    object: str | None
    object_id: str


def parse_events(body: bytes) -> list[HubSpotEvent]:
    """Parse and validate a delivery body; raise :class:`MalformedPayload` with a reason."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not valid JSON ({exc})") from None
    if not isinstance(payload, list):
        raise MalformedPayload("body must be a JSON array of events")
    if len(payload) > MAX_EVENTS:
        raise MalformedPayload(f"too many events ({len(payload)}, at most {MAX_EVENTS})")
    return [_parse_event(index, item) for index, item in enumerate(payload)]


def _parse_event(index: int, item: Any) -> HubSpotEvent:
    where = f"event {index}"
    if not isinstance(item, dict):
        raise MalformedPayload(f"{where}: must be a JSON object")
    for name in _REQUIRED_INTEGERS:
        value = item.get(name)
        # bool is an int subclass in Python, and `true` is not an id.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise MalformedPayload(f"{where}: {name} must be a non-negative integer")
    subscription_type = item.get("subscriptionType")
    if not isinstance(subscription_type, str) or "." not in subscription_type:
        raise MalformedPayload(f"{where}: subscriptionType must be a string like 'contact.propertyChange'")
    key = ":".join(str(item[name]) for name in ("subscriptionId", "eventId", "occurredAt", "objectId"))
    return HubSpotEvent(dedupe_key=f"hubspot:{key}", object=_object_of(item, subscription_type),
                        object_id=str(item["objectId"]))


def _object_of(item: Mapping[str, Any], subscription_type: str) -> str | None:
    prefix, _, action = subscription_type.partition(".")
    if action in _IGNORED_ACTIONS:
        return None
    if prefix == "object":
        return _OBJECT_BY_TYPE_ID.get(str(item.get("objectTypeId", "")))
    return _OBJECT_BY_PREFIX.get(prefix)
