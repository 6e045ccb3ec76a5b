"""The sandboxes as webhook senders: HubSpot webhook subscriptions, and the delivery machinery
shared with Salesforce Outbound Messages (:mod:`connectors.sandbox.salesforce.outbound`).

HubSpot (``HubSpotWebhooks``): an app subscribes to property changes (``contact.propertyChange``
for ``lifecyclestage`` ...), creations and deletions. Every committed change in the portal (API
writes, Baton's included, and "another user" edits) becomes one event per subscribed property
that changed; events are batched (``batch_ms``, ``max_batch``) into a JSON array and POSTed,
signed with v3 (``X-HubSpot-Signature-v3`` over method + exact URL + body + timestamp, made with
the SDK's ``Signature.get_signature``) plus the v1 headers, as HubSpot's webhooks API does.

Retries follow HubSpot: a delivery answered 2xx is done; 400, 401, 403, 404, 405 are never
retried; 429 is retried after its ``Retry-After``; other statuses, connection failures and
timeouts are retried with exponential backoff (2, 4, 8 ... minutes, times ``backoff_scale`` so
tests can run it in milliseconds), up to 10 retries, each redelivery carrying
``attemptNumber + 1`` and a fresh signature. Sending happens on background threads; a change
never waits for a delivery.

Admin endpoints (``with_webhook_admin`` wraps a sandbox's WSGI app):
``POST /_sandbox/webhooks`` ``{target_url, client_secret?, subscriptions: [{"objectType":
"contact", "propertyName": "lifecyclestage"} | {"objectType": "deal", "eventType": "creation"}],
batch_ms?, max_batch?, backoff_scale?, timeout_s?}``; ``GET`` it for the delivery log;
``DELETE`` to unsubscribe. Salesforce: ``/_sandbox/outbound`` (see its module).
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from hubspot.utils.signature import Signature
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

NO_RETRY_STATUSES = frozenset({400, 401, 403, 404, 405})
OBJECT_TYPES = {"contact": "contacts", "company": "companies", "deal": "deals"}
EVENT_TYPES = ("propertyChange", "creation", "deletion")


@dataclass(frozen=True)
class DeliveryPolicy:
    """When to retry. ``backoff_scale`` shrinks the real delays (1.0 = HubSpot's minutes)."""

    max_retries: int = 10
    first_retry_s: float = 120.0
    backoff_scale: float = 1.0
    timeout_s: float = 5.0
    max_retry_after_s: float = 3600.0

    def delay_s(self, attempt: int) -> float:
        """Delay before redelivery number ``attempt`` (1-based): 2, 4, 8 ... minutes, scaled."""
        return self.first_retry_s * (2 ** (attempt - 1)) * self.backoff_scale


@dataclass
class DeliveryRecord:
    """One HTTP attempt, as the admin endpoint reports it."""

    delivery_id: int
    attempt: int
    items: int
    status: int | None
    outcome: str               # delivered | retry | gave_up | refused
    sent_at: float
    elapsed_ms: float
    detail: str = ""


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    job: Any = field(compare=False)


class Deliverer:
    """Sends payloads on background threads, retrying per a :class:`DeliveryPolicy`.

    ``send(payload, attempt)`` returns ``(status or None, retry_after_s or None, detail)``; the
    deliverer decides what happens next with ``should_retry``.
    """

    def __init__(self, name: str, concurrency: int = 10) -> None:
        self.name = name
        self.records: list[DeliveryRecord] = []
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"{name}-send")
        self._thread = threading.Thread(target=self._run, name=f"{name}-scheduler", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[int, int], tuple[str, float | None]], delay_s: float = 0.0) -> int:
        """Schedule ``job(delivery_id, attempt)``; it returns ("done" | "retry", delay)."""
        delivery_id = next(self._ids)
        self._schedule(time.monotonic() + delay_s, (delivery_id, 0, job))
        return delivery_id

    def _schedule(self, at: float, item: tuple[int, int, Any]) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Due(at, next(self._seq), item))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0].at > time.monotonic()):
                    timeout = (self._heap[0].at - time.monotonic()) if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                due = heapq.heappop(self._heap)
            self._pool.submit(self._attempt, *due.job)

    def _attempt(self, delivery_id: int, attempt: int, job: Any) -> None:
        try:
            outcome, delay = job(delivery_id, attempt)
        except Exception:               # a bug in a sender must not kill the sandbox
            log.exception("%s: delivery %d failed", self.name, delivery_id)
            return
        if outcome == "retry" and delay is not None:
            self._schedule(time.monotonic() + delay, (delivery_id, attempt + 1, job))

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)


def post(session: requests.Session, url: str, body: bytes, headers: dict[str, str],
         timeout_s: float) -> tuple[int | None, float | None, str]:
    """POST and classify: (status or None on a network failure/timeout, Retry-After seconds, detail)."""
    try:
        response = session.post(url, data=body, headers=headers, timeout=timeout_s)
    except requests.Timeout:
        return None, None, "timeout"
    except requests.RequestException as exc:
        return None, None, f"connection failed ({type(exc).__name__})"
    retry_after = response.headers.get("Retry-After")
    try:
        seconds = float(retry_after) if retry_after is not None else None
    except ValueError:
        seconds = None
    return response.status_code, seconds, response.text[:4000]


# ------------------------------------------------------------------------------------- HubSpot
@dataclass(frozen=True)
class Subscription:
    id: int
    object_type: str          # contact | company | deal
    event_type: str           # propertyChange | creation | deletion
    property_name: str | None = None

    @property
    def subscription_type(self) -> str:
        return f"{self.object_type}.{self.event_type}"


@dataclass
class HubSpotWebhookSettings:
    target_url: str
    client_secret: str
    subscriptions: list[Subscription]
    batch_ms: int = 50
    max_batch: int = 100
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    app_id: int = 1160452
    portal_id: int = 62515


class HubSpotWebhooks:
    """Webhook subscriptions of one sandbox portal; attach with ``HubSpotWebhooks(sandbox)``."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.settings: HubSpotWebhookSettings | None = None
        self.deliverer = Deliverer("hubspot-webhooks")
        self.session = requests.Session()
        self.session.trust_env = False
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_timer: threading.Timer | None = None
        self._event_ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)
        self.events_emitted = 0
        sandbox.store.add_listener(self.on_change)

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Subscribe (replacing earlier subscriptions) from the admin endpoint's JSON."""
        target = body.get("target_url")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            raise ValueError("target_url must be an http(s) URL")
        subscriptions = [_subscription(i, item) for i, item in enumerate(body.get("subscriptions") or [], 1)]
        if not subscriptions:
            raise ValueError("subscriptions must list at least one {objectType, propertyName} "
                             "or {objectType, eventType}")
        policy = DeliveryPolicy(backoff_scale=float(body.get("backoff_scale", 1.0)),
                                timeout_s=float(body.get("timeout_s", 5.0)))
        with self._lock:
            self.settings = HubSpotWebhookSettings(
                target_url=target, client_secret=str(body.get("client_secret") or self.sandbox.client_secret),
                subscriptions=subscriptions, batch_ms=int(body.get("batch_ms", 50)),
                max_batch=max(1, min(100, int(body.get("max_batch", 100)))), policy=policy)
        return self.describe()

    def unsubscribe(self) -> None:
        with self._lock:
            self.settings = None
            self._pending.clear()

    def describe(self) -> dict[str, Any]:
        settings = self.settings
        return {"target_url": settings.target_url if settings else None,
                "subscriptions": [{"id": s.id, "subscriptionType": s.subscription_type,
                                   "propertyName": s.property_name} for s in (settings.subscriptions if settings else [])],
                "events_emitted": self.events_emitted, "pending_retries": self.deliverer.pending(),
                "deliveries": [vars(r) for r in self.deliverer.records[-200:]]}

    # -- events ----------------------------------------------------------------------------------
    def on_change(self, change: Any) -> None:
        """Store listener: turn one committed change into the subscribed events."""
        settings = self.settings
        if settings is None:
            return
        events = [self._event(settings, sub, change, name, value)
                  for sub in settings.subscriptions if OBJECT_TYPES.get(sub.object_type) == change.object_type
                  for name, value in _matches(sub, change)]
        if not events:
            return
        with self._lock:
            self._pending.extend(events)
            self.events_emitted += len(events)
            full = len(self._pending) >= settings.max_batch
            if full:
                batch, self._pending = self._pending[:settings.max_batch], self._pending[settings.max_batch:]
            elif self._flush_timer is None:
                self._flush_timer = threading.Timer(settings.batch_ms / 1000.0, self._flush)
                self._flush_timer.daemon = True
                self._flush_timer.start()
        if full:
            self._deliver(settings, batch)

    def _event(self, settings: HubSpotWebhookSettings, sub: Subscription, change: Any, name: str | None,
               value: Any) -> dict[str, Any]:
        event = {"eventId": next(self._event_ids), "subscriptionId": sub.id, "portalId": settings.portal_id,
                 "appId": settings.app_id, "occurredAt": change.occurred_ms,
                 "subscriptionType": sub.subscription_type, "attemptNumber": 0,
                 "objectId": int(change.record_id), "changeSource": change.source}
        if name is not None:
            event.update({"propertyName": name, "propertyValue": "" if value is None else str(value)})
        return event

    def _flush(self) -> None:
        settings = self.settings
        with self._lock:
            self._flush_timer = None
            batch, self._pending = self._pending, []
        if settings is None:
            return
        for start in range(0, len(batch), settings.max_batch):
            self._deliver(settings, batch[start:start + settings.max_batch])

    def _deliver(self, settings: HubSpotWebhookSettings, events: list[dict[str, Any]]) -> None:
        def job(delivery_id: int, attempt: int) -> tuple[str, float | None]:
            return self._send(settings, events, delivery_id, attempt)
        self.deliverer.submit(job)

    def _send(self, settings: HubSpotWebhookSettings, events: list[dict[str, Any]], delivery_id: int,
              attempt: int) -> tuple[str, float | None]:
        body = json.dumps([{**e, "attemptNumber": attempt} for e in events], separators=(",", ":"))
        started = time.time()
        status, retry_after, detail = post(self.session, settings.target_url, body.encode(),
                                           signed_headers(settings.client_secret, settings.target_url, body),
                                           settings.policy.timeout_s)
        outcome, delay = _next_step(settings.policy, status, retry_after, attempt)
        self.deliverer.records.append(DeliveryRecord(delivery_id, attempt, len(events), status, outcome,
                                                     started, (time.time() - started) * 1000, detail))
        return ("retry" if outcome == "retry" else "done"), delay


def signed_headers(client_secret: str, url: str, body: str, timestamp_ms: int | None = None) -> dict[str, str]:
    """HubSpot's webhook headers: v3 (HMAC over method + URL + body + timestamp) and v1."""
    stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {"Content-Type": "application/json",
            "X-HubSpot-Signature-v3": Signature.get_signature(client_secret, body, "v3", url, "POST", stamp),
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature": Signature.get_signature(client_secret, body, "v1"),
            "X-HubSpot-Signature-Version": "v1",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)"}


def _next_step(policy: DeliveryPolicy, status: int | None, retry_after: float | None,
               attempt: int) -> tuple[str, float | None]:
    """HubSpot's rule: 2xx done; 400/401/403/404/405 never retried; 429 after Retry-After; else backoff."""
    if status is not None and 200 <= status < 300:
        return "delivered", None
    if status in NO_RETRY_STATUSES:
        return "refused", None
    if attempt >= policy.max_retries:
        return "gave_up", None
    if status == 429 and retry_after is not None:
        return "retry", min(max(retry_after, 0.0), policy.max_retry_after_s)
    return "retry", policy.delay_s(attempt + 1)


def _subscription(number: int, item: Any) -> Subscription:
    if not isinstance(item, dict):
        raise TypeError(f"subscription {number} must be an object")
    object_type = item.get("objectType")
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"subscription {number}: objectType must be one of {sorted(OBJECT_TYPES)}")
    event_type = item.get("eventType", "propertyChange")
    if event_type not in EVENT_TYPES:
        raise ValueError(f"subscription {number}: eventType must be one of {list(EVENT_TYPES)}")
    name = item.get("propertyName")
    if event_type == "propertyChange" and not isinstance(name, str):
        raise ValueError(f"subscription {number}: a propertyChange subscription names one propertyName")
    return Subscription(number, object_type, event_type, name if event_type == "propertyChange" else None)


def _matches(sub: Subscription, change: Any) -> list[tuple[str | None, Any]]:
    if sub.event_type == "propertyChange":
        if change.kind == "propertyChange" and sub.property_name in change.changes:
            return [(sub.property_name, change.changes[sub.property_name])]
        return []
    return [(None, None)] if change.kind == sub.event_type else []


# ---------------------------------------------------------------------- admin endpoints (WSGI)
class WebhookAdmin:
    """WSGI middleware adding ``/_sandbox/webhooks`` (HubSpot) or ``/_sandbox/outbound``
    (Salesforce) to a sandbox app; every other request goes to the sandbox untouched."""

    def __init__(self, app: Any, path: str, configure: Callable[[dict[str, Any]], dict[str, Any]],
                 describe: Callable[[], dict[str, Any]], unsubscribe: Callable[[], None]) -> None:
        self.app, self.path = app, path
        self._configure, self._describe, self._unsubscribe = configure, describe, unsubscribe

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").rstrip("/") != self.path:
            return self.app(environ, start_response)
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        try:
            if request.method == "POST":
                body = json.loads(request.get_data() or b"{}")
                if not isinstance(body, dict):
                    raise TypeError("send a JSON object")
                return _json(self._configure(body), 201)
            if request.method == "DELETE":
                self._unsubscribe()
                return _json({"unsubscribed": True}, 200)
            if request.method == "GET":
                return _json(self._describe(), 200)
        except (ValueError, TypeError) as exc:
            return _json({"error": f"bad webhook settings: {exc}"}, 400)
        return _json({"error": "use GET, POST or DELETE"}, 405)


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def hubspot_with_webhooks(sandbox: Any) -> tuple[Any, HubSpotWebhooks]:
    """The HubSpot sandbox's WSGI app with ``/_sandbox/webhooks``, and its webhook sender."""
    hooks = HubSpotWebhooks(sandbox)
    return WebhookAdmin(sandbox.wsgi_app(), "/_sandbox/webhooks", hooks.configure, hooks.describe,
                        hooks.unsubscribe), hooks


def salesforce_with_outbound(sandbox: Any) -> tuple[Any, Any]:
    """The Salesforce sandbox's WSGI app with ``/_sandbox/outbound``, and its message sender."""
    from connectors.sandbox.salesforce.outbound import OutboundMessages

    outbound = OutboundMessages(sandbox)
    return WebhookAdmin(sandbox.wsgi_app(), "/_sandbox/outbound", outbound.configure, outbound.describe,
                        outbound.unsubscribe), outbound


# ----------------------------------------------------------------------------- starting both
@dataclass
class WebhookSenders:
    """The webhook senders of running sandboxes (configure them in-process or over HTTP)."""

    hubspot: HubSpotWebhooks
    salesforce: Any              # connectors.sandbox.salesforce.outbound.OutboundMessages

    def stop(self) -> None:
        self.hubspot.deliverer.stop()
        self.salesforce.stop()


def start_sandboxes_with_webhooks(*, seed: int = 42, records: int = 1000, host: str = "127.0.0.1",
                                  state_dir: Any = None, now: Any = None) -> tuple[Any, WebhookSenders]:
    """:func:`connectors.sandbox.runner.start_sandboxes` with the webhook admin endpoints
    (``/_sandbox/webhooks`` on HubSpot, ``/_sandbox/outbound`` on Salesforce), and their senders."""
    from connectors.sandbox.runner import start_sandboxes

    running = start_sandboxes(seed=seed, records=records, host=host, state_dir=state_dir, now=now, webhooks=True)
    return running, running.senders
