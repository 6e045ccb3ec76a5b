"""The demo's webhook phase: CRM changes reach Baton as webhooks and come back as written stages.

``run_webhook_phase(env, ctx, console)`` starts Baton's web service on port 0 in a thread (the
real ``create_app`` with :func:`app.web_services.build_services` and the demo's Redis), subscribes
the HubSpot sandbox (property changes) and the Salesforce sandbox (Outbound Messages for leads) to
it, makes a few sales-rep edits, and shows each webhook-driven change as it lands in the CRM:
when the webhook arrived, which record, when the stage was written, and the latency between.

``LiveService`` (the service on a real socket) is shared with the end-to-end tests and the
webhook latency benchmark.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import requests
from rich.console import Console
from rich.live import Live
from rich.table import Table
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.config_schema import BatonConfig

#: HubSpot properties whose changes the rules read (the demo subscribes to these).
HUBSPOT_SUBSCRIPTIONS = [
    {"objectType": "contact", "propertyName": name}
    for name in ("lifecyclestage", "hs_lead_status", "inquiry_submitted", "catalogue_requested",
                 "seminar_attended", "email_clicks", "web_visits", "product_page_visits", "no_response",
                 "last_activity_date", "disqualified_reason")
] + [{"objectType": "deal", "propertyName": name}
     for name in ("dealstage", "amount", "solution_fit", "budget_confirmed", "authority_confirmed",
                  "need_confirmed", "timeline_confirmed", "close_plan_complete", "approval_process_started",
                  "champion_agreed", "differentiation_established", "closed_lost_reason")]


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per webhook: the demo's table shows each delivery."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class LiveService:
    """Baton's web service on 127.0.0.1:<free port>, served by a thread until :meth:`stop`."""

    url: str
    admin_token: str
    hubspot_secret: str
    organization_id: str
    received: list[tuple[float, str]] = field(default_factory=list)   # (time, path) of each webhook
    first_seen: dict[str, float] = field(default_factory=dict)        # HubSpot objectId -> first arrival
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def start(cls, config: BatonConfig, connection: redis.Redis, *, hubspot_secret: str,
              organization_id: str, admin_token: str | None = None) -> LiveService:
        from app.web import create_app
        from app.web_services import build_services

        token = admin_token or secrets.token_urlsafe(24)
        app = create_app(config={"BATON_ADMIN_TOKEN": token, "BATON_HUBSPOT_CLIENT_SECRET": hubspot_secret,
                                 "BATON_SALESFORCE_ORGANIZATION_ID": organization_id},
                         services=build_services(config, redis_client=connection), redis=connection)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        service = cls(f"http://127.0.0.1:{server.server_port}", token, hubspot_secret, organization_id,
                      _server=server)
        app.before_request(service._note_webhook)
        service._thread = threading.Thread(target=server.serve_forever, name="baton-web", daemon=True)
        service._thread.start()
        return service

    def _note_webhook(self) -> None:
        from flask import request
        if request.path.startswith("/webhooks/"):
            now = time.time()
            self.received.append((now, request.path))
            if request.path == "/webhooks/hubspot":
                events = request.get_json(silent=True, cache=True)   # the view re-reads the raw bytes
                for event in events if isinstance(events, list) else []:
                    if isinstance(event, dict):
                        self.first_seen.setdefault(str(event.get("objectId")), now)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the admin API with the bearer token."""
        headers = {"Authorization": f"Bearer {self.admin_token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def subscribe(info: dict[str, Any], service: LiveService, *, lead_objects: tuple[str, ...] = ("Lead",),
              backoff_scale: float = 1.0, batch_ms: int = 20) -> None:
    """Point both sandboxes' webhooks at ``service`` over their admin endpoints."""
    session = requests.Session()
    session.trust_env = False
    response = session.post(f"{info['hubspot']['host']}/_sandbox/webhooks", timeout=10, json={
        "target_url": f"{service.url}/webhooks/hubspot", "client_secret": service.hubspot_secret,
        "subscriptions": HUBSPOT_SUBSCRIPTIONS, "batch_ms": batch_ms, "backoff_scale": backoff_scale})
    response.raise_for_status()
    sf = info["salesforce"]
    response = session.post(f"{sf['instance_url']}/_sandbox/outbound", timeout=10, verify=sf["ca_cert"], json={
        "target_url": f"{service.url}/webhooks/salesforce", "objects": list(lead_objects),
        "organization_id": service.organization_id, "fields": ["Status"], "batch_ms": batch_ms,
        "backoff_scale": backoff_scale})
    response.raise_for_status()


@dataclass
class WatchedEdit:
    """A rep edit and the stage Baton should write because of it."""

    crm: str
    object: str
    record_id: str
    fields: dict[str, Any]
    done: Callable[[dict[str, Any]], bool]      # is the expected stage in the CRM record?
    label: str
    edited_at: float = 0.0
    received_at: float | None = None
    written_at: float | None = None


def read_record(info: dict[str, Any], crm: str, object_name: str, record_id: str) -> dict[str, Any]:
    """The record's current values through the sandbox admin API (no API call is counted)."""
    target = info[crm]
    base = target.get("instance_url") or target["host"]
    response = requests.get(f"{base}/_sandbox/records/{object_name}", timeout=10,
                            verify=target.get("ca_cert") or True)
    response.raise_for_status()
    for row in response.json() if isinstance(response.json(), list) else response.json().get("results", []):
        if str(row.get("Id") or row.get("id")) == record_id:
            return row.get("properties", row)
    return {}


def edit(info: dict[str, Any], crm: str, object_name: str, record_id: str, fields: dict[str, Any]) -> None:
    target = info[crm]
    base = target.get("instance_url") or target["host"]
    key = "fields" if crm == "salesforce" else "properties"
    response = requests.post(f"{base}/_sandbox/edit", timeout=10, verify=target.get("ca_cert") or True,
                             json={"object": object_name, "id": record_id, key: fields})
    response.raise_for_status()


def _pick_edits(store: Any) -> list[WatchedEdit]:
    """Nurturing leads that send an inquiry or ask for a catalogue (an activity, dated today)."""
    from app.demo.reps import qualifiable
    today = time.strftime("%Y-%m-%d", time.gmtime())
    edits: list[WatchedEdit] = []
    # Not the records the incremental phase edited (they were qualified already): the first ones.
    for contact in qualifiable(store, "hubspot", "contacts", "hs_lead_status", "IN_PROGRESS", 6)[:3]:
        edits.append(WatchedEdit("hubspot", "contacts", contact,
                                 {"inquiry_submitted": "true", "last_activity_date": today},
                                 lambda r: r.get("lifecyclestage") == "marketingqualifiedlead",
                                 "inquiry -> qualified"))
    for lead in qualifiable(store, "salesforce", "Lead", "Status", "Nurturing", 6)[:3]:
        edits.append(WatchedEdit("salesforce", "Lead", lead,
                                 {"Catalogue_Requested__c": True, "Last_Activity_Date__c": today},
                                 lambda r: r.get("Status") == "Qualified", "catalogue -> Qualified"))
    return edits


def run_webhook_phase(env: Any, ctx: Any, console: Console, *, timeout_s: float = 60.0) -> dict[str, Any]:
    """Serve Baton, subscribe both sandboxes, make rep edits, show the changes arriving live.

    Returns a summary: ``{"edits", "written", "latencies_ms", "webhooks"}``.
    """
    from connectors.sandbox.salesforce.outbound import DEFAULT_ORGANIZATION_ID

    info = env.sandboxes.info
    service = LiveService.start(env.config, env.redis, hubspot_secret=info["hubspot"]["client_secret"],
                                organization_id=DEFAULT_ORGANIZATION_ID)
    try:
        attach_senders(env.sandboxes)
        subscribe(info, service)
        edits = _pick_edits(ctx.store)
        for item in edits:
            item.edited_at = time.time()
            edit(info, item.crm, item.object, item.record_id, item.fields)
        _watch(info, service, edits, console, timeout_s)
    finally:
        service.stop()
    latencies = [round((e.written_at - e.edited_at) * 1000) for e in edits if e.written_at]
    return {"edits": len(edits), "written": len(latencies), "latencies_ms": latencies,
            "webhooks": len(service.received)}


def attach_senders(sandboxes: Any) -> Any:
    """Give already-running sandboxes their webhook senders (in-process), once."""
    from connectors.sandbox.salesforce.outbound import OutboundMessages
    from connectors.sandbox.webhooks import HubSpotWebhooks, WebhookAdmin, WebhookSenders

    senders = getattr(sandboxes, "senders", None) or getattr(sandboxes, "webhook_senders", None)
    if senders is None:
        hooks, outbound = HubSpotWebhooks(sandboxes.hubspot), OutboundMessages(sandboxes.salesforce)
        senders = WebhookSenders(hooks, outbound)
        sandboxes.webhook_senders = senders
        # The servers are running already: add the admin endpoints in front of their apps.
        outbound.base_url = sandboxes.info["salesforce"]["instance_url"]
        senders_by_path: list[tuple[str, Any]] = [("/_sandbox/outbound", outbound), ("/_sandbox/webhooks", hooks)]
        for server, (path, sender) in zip(sandboxes.servers, senders_by_path, strict=True):
            wsgi = server._server        # the runner offers no hook for wrapping a running app
            wsgi.app = WebhookAdmin(wsgi.app, path, sender.configure, sender.describe, sender.unsubscribe)
    return senders


def _watch(info: dict[str, Any], service: LiveService, edits: list[WatchedEdit], console: Console,
           timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    with Live(_table(edits), console=console, refresh_per_second=8) as live:
        while time.time() < deadline and any(e.written_at is None for e in edits):
            for item in edits:
                if item.written_at is None and item.done(read_record(info, item.crm, item.object, item.record_id)):
                    item.written_at = time.time()
                    item.received_at = next((t for t, p in service.received
                                             if p.endswith(item.crm) and t >= item.edited_at), None)
            live.update(_table(edits))
            time.sleep(0.05)


def _table(edits: list[WatchedEdit]) -> Table:
    table = Table(title="Webhook-driven changes (rep edit -> webhook -> stage written in the CRM)",
                  title_justify="left")
    for column in ("CRM", "record", "edit", "webhook received", "stage written", "latency"):
        table.add_column(column)
    for e in edits:
        received = time.strftime("%H:%M:%S", time.localtime(e.received_at)) + f".{int(e.received_at % 1 * 1000):03d}" \
            if e.received_at else "..."
        written = time.strftime("%H:%M:%S", time.localtime(e.written_at)) + f".{int(e.written_at % 1 * 1000):03d}" \
            if e.written_at else "waiting"
        latency = f"{(e.written_at - e.edited_at) * 1000:.0f} ms" if e.written_at else ""
        table.add_row(e.crm, f"{e.object}/{e.record_id}", e.label, received, written, latency)
    return table
