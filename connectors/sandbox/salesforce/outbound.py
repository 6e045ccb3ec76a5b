"""Outbound Messages from the Salesforce sandbox: SOAP notifications of changed records.

In a real org an admin defines an Outbound Message (object, endpoint URL, fields) and a Flow or
workflow rule that fires it when a record is created or edited. Here ``POST /_sandbox/outbound``
``{target_url, objects: ["Lead", "Opportunity"], organization_id?, fields?, batch_ms?,
backoff_scale?, timeout_s?}`` configures one per object, and every committed change to a record
of those objects (API writes, Baton's included, and "another user" edits) queues a notification.

Changes are observed by watching each row's ``SystemModstamp`` (every write stamps it), so the
org's write path needs no hook. Notifications are sent as SOAP 1.1 ``<notifications>`` messages of
at most 100, each with its own notification ``<Id>`` and the record's fields *as they are at send
time* (as Salesforce does). A message is retried until the endpoint answers HTTP 200 with
``<Ack>true</Ack>``: exponential backoff from 30 s up to 2 hours between tries (times
``backoff_scale`` for tests), dropped after 24 hours (scaled likewise).
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import requests

from connectors.sandbox.salesforce.auth import ORG_ID
from connectors.sandbox.salesforce.schema import find_object
from connectors.sandbox.salesforce.values import format_datetime
from connectors.sandbox.webhooks import Deliverer, DeliveryRecord, post

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
MAX_PER_MESSAGE = 100
#: The sandbox org's id in its 18-character form (the login answer shows a 16-character stand-in).
DEFAULT_ORGANIZATION_ID = (ORG_ID + "AAA")[:18]


@dataclass(frozen=True)
class OutboundPolicy:
    first_retry_s: float = 30.0
    max_interval_s: float = 2 * 3600.0
    give_up_after_s: float = 24 * 3600.0
    backoff_scale: float = 1.0
    timeout_s: float = 60.0

    def delay_s(self, attempt: int) -> float:
        return min(self.first_retry_s * 2 ** (attempt - 1), self.max_interval_s) * self.backoff_scale


@dataclass
class OutboundSettings:
    target_url: str
    objects: tuple[str, ...]
    organization_id: str = DEFAULT_ORGANIZATION_ID
    fields: tuple[str, ...] = ("Id",)
    batch_ms: int = 50
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)


class OutboundMessages:
    """The Outbound Messages of one sandbox org, with a watcher thread and a sender."""

    def __init__(self, sandbox: Any, poll_s: float = 0.01) -> None:
        self.sandbox = sandbox
        self.settings: OutboundSettings | None = None
        self.deliverer = Deliverer("salesforce-outbound", concurrency=4)
        self.session = requests.Session()
        self.session.trust_env = False
        self.notifications_sent = 0
        self.base_url = "https://127.0.0.1"          # the org's URL in the message (set when served)
        self._seen: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._poll_s = poll_s
        self._stop = threading.Event()
        # Started on the first configure(): an org nobody subscribed to costs no polling.
        self._thread = threading.Thread(target=self._watch, name="salesforce-outbound-watch", daemon=True)

    # -- admin ------------------------------------------------------------------------------------
    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        target = body.get("target_url")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            raise ValueError("target_url must be an http(s) URL")
        objects = body.get("objects")
        if not isinstance(objects, list) or not objects:
            raise ValueError("objects must list the objects to send messages for, e.g. [\"Lead\"]")
        names = []
        for name in objects:
            obj = find_object(str(name))
            if obj is None:
                raise ValueError(f"unknown object {name!r}")
            names.append(obj.name)
        org = str(body.get("organization_id") or DEFAULT_ORGANIZATION_ID)
        fields = tuple(dict.fromkeys(["Id", *[str(f) for f in body.get("fields") or []]]))
        policy = OutboundPolicy(backoff_scale=float(body.get("backoff_scale", 1.0)),
                                timeout_s=float(body.get("timeout_s", 60.0)))
        with self.sandbox.store.lock:
            # Start from the current state: only changes made from now on are notified.
            self._seen = {name: self._stamps(name) for name in names}
            if not self._thread.is_alive() and not self._stop.is_set():
                self._thread.start()
            self.settings = OutboundSettings(target, tuple(names), org, fields, int(body.get("batch_ms", 50)),
                                             policy)
        return self.describe()

    def unsubscribe(self) -> None:
        self.settings = None

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {"target_url": s.target_url if s else None, "objects": list(s.objects) if s else [],
                "organization_id": s.organization_id if s else None,
                "notifications_sent": self.notifications_sent, "pending_retries": self.deliverer.pending(),
                "deliveries": [vars(r) for r in self.deliverer.records[-200:]]}

    # -- watching ---------------------------------------------------------------------------------
    def _stamps(self, object_name: str) -> dict[str, Any]:
        return {row["Id"]: row.get("SystemModstamp") for row in self.sandbox.store.rows(object_name, True)}

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            settings = self.settings
            if settings is None:
                continue
            for object_name in settings.objects:
                changed = self._changed(object_name)
                for start in range(0, len(changed), MAX_PER_MESSAGE):
                    self._queue(settings, object_name, changed[start:start + MAX_PER_MESSAGE])

    def _changed(self, object_name: str) -> list[str]:
        """Ids whose SystemModstamp moved since the last look (new records included)."""
        with self.sandbox.store.lock:
            seen = self._seen.setdefault(object_name, {})
            changed = []
            for row in self.sandbox.store.rows(object_name, False):
                stamp = row.get("SystemModstamp")
                if seen.get(row["Id"]) != stamp:
                    seen[row["Id"]] = stamp
                    changed.append(row["Id"])
        return changed

    def _queue(self, settings: OutboundSettings, object_name: str, ids: list[str]) -> None:
        notifications = [(self._notification_id(), record_id) for record_id in ids]
        started = time.monotonic()

        def job(delivery_id: int, attempt: int) -> tuple[str, float | None]:
            return self._send(settings, object_name, notifications, delivery_id, attempt, started)
        self.deliverer.submit(job)

    def _notification_id(self) -> str:
        return f"04l5g{next(self._ids):013d}"

    # -- sending ----------------------------------------------------------------------------------
    def _send(self, settings: OutboundSettings, object_name: str, notifications: list[tuple[str, str]],
              delivery_id: int, attempt: int, first_at: float) -> tuple[str, float | None]:
        body = self.envelope(settings, object_name, notifications)
        sent = time.time()
        status, _, detail = post(self.session, settings.target_url, body.encode(),
                                 {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""',
                                  "User-Agent": "Salesforce Outbound Notification (sandbox)"},
                                 settings.policy.timeout_s)
        acked = status == 200 and "<Ack>true</Ack>" in detail.replace(" ", "")
        policy = settings.policy
        expired = time.monotonic() - first_at > policy.give_up_after_s * policy.backoff_scale
        outcome = "delivered" if acked else ("gave_up" if expired else "retry")
        self.deliverer.records.append(DeliveryRecord(delivery_id, attempt, len(notifications), status, outcome,
                                                     sent, (time.time() - sent) * 1000, detail[:120]))
        if acked:
            self.notifications_sent += len(notifications)
        return ("retry", policy.delay_s(attempt + 1)) if outcome == "retry" else ("done", None)

    def envelope(self, settings: OutboundSettings, object_name: str,
                 notifications: list[tuple[str, str]]) -> str:
        """The SOAP message, with each record's fields as they are now."""
        base = self.base_url
        items = []
        with self.sandbox.store.lock:
            for notification_id, record_id in notifications:
                row = self.sandbox.store.get(object_name, record_id) or {"Id": record_id}
                values = "".join(f"<sf:{name}>{escape(_text(row.get(name)))}</sf:{name}>"
                                 for name in settings.fields if row.get(name) is not None)
                items.append(f"<Notification><Id>{notification_id}</Id>"
                             f'<sObject xsi:type="sf:{object_name}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
                             f"{values}</sObject></Notification>")
        org = escape(settings.organization_id)
        return ('<?xml version="1.0" encoding="UTF-8"?>'
                f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
                f'<notifications xmlns="{OUTBOUND_NS}"><OrganizationId>{org}</OrganizationId>'
                "<ActionId>04k5g000000BATONAAA</ActionId><SessionId xsi:nil=\"true\"/>"
                f"<EnterpriseUrl>{base}/services/Soap/c/59.0/{org[:15]}</EnterpriseUrl>"
                f"<PartnerUrl>{base}/services/Soap/u/59.0/{org[:15]}</PartnerUrl>"
                + "".join(items) + "</notifications></soapenv:Body></soapenv:Envelope>")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.deliverer.stop()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat") and hasattr(value, "hour"):
        return format_datetime(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


__all__ = ["DEFAULT_ORGANIZATION_ID", "MAX_PER_MESSAGE", "OutboundMessages", "OutboundPolicy", "OutboundSettings"]
