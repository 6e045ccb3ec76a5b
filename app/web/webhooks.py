"""``/webhooks``: CRM deliveries. Verify -> parse -> dedupe -> queue -> answer; never call a CRM here.

The raw body is read (and size-capped by ``MAX_CONTENT_LENGTH``) before any parsing, because the
signatures cover the exact bytes sent.
"""
from __future__ import annotations

import hashlib
import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError

from app.web.context import web_context
from app.web.dispatch import DispatchResult, WebhookEvent, dispatch
from app.web.errors import error_response
from app.web.hubspot_events import MalformedPayload, parse_events
from app.web.salesforce_messages import (
    ACK_BODY,
    MalformedMessage,
    parse_callout,
    parse_outbound_message,
    same_organization,
    soap_fault,
)
from app.web.services import InvalidRequest, ServiceError, Unavailable
from app.web.signatures import HubSpotHeaders, SignatureError, verify_baton, verify_hubspot

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

_XML_TYPES = frozenset({"text/xml", "application/xml", "application/soap+xml"})


@bp.post("/hubspot")
def hubspot() -> Response | tuple[Response, int]:
    """A HubSpot webhook delivery: a signed JSON array of events."""
    body = request.get_data(cache=True)
    config = current_app.config
    headers = HubSpotHeaders(signature_v3=request.headers.get("X-HubSpot-Signature-v3"),
                             timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
                             signature=request.headers.get("X-HubSpot-Signature"),
                             signature_version=request.headers.get("X-HubSpot-Signature-Version"))
    try:
        verify_hubspot(headers, secret=config["BATON_HUBSPOT_CLIENT_SECRET"],
                       versions=config["BATON_HUBSPOT_SIGNATURE_VERSIONS"], method=request.method,
                       uri=request.url, body=body, now=time.time(),
                       max_age=config["BATON_SIGNATURE_MAX_AGE_SECONDS"])
    except SignatureError as exc:
        log.warning("HubSpot webhook refused: %s", exc)
        return error_response(401, str(exc))
    try:
        events = parse_events(body)
    except MalformedPayload as exc:
        return error_response(400, f"malformed HubSpot delivery: {exc}")
    items = [WebhookEvent(e.dedupe_key, e.object, e.object_id) for e in events]
    return _dispatch_json("hubspot", items)


@bp.post("/salesforce")
def salesforce() -> Response | tuple[Response, int]:
    """A Salesforce Outbound Message (SOAP) or a signed JSON callout from a Flow or Apex."""
    if request.mimetype == "application/json":
        return _salesforce_callout()
    if request.mimetype in _XML_TYPES:
        return _outbound_message()
    return error_response(415, "send a SOAP Outbound Message (text/xml) or a JSON callout "
                               "(application/json)")


def _outbound_message() -> Response:
    body = request.get_data(cache=True)
    try:
        message = parse_outbound_message(body)
    except MalformedMessage as exc:
        return _soap_fault(400, "Client", f"malformed Outbound Message: {exc}")
    configured = current_app.config["BATON_SALESFORCE_ORGANIZATION_ID"]
    if not same_organization(message.organization_id, configured):
        log.warning("Outbound Message from organization %s refused", message.organization_id)
        return _soap_fault(403, "Client", "this endpoint does not accept messages from organization "
                                          f"{message.organization_id}")
    org = message.organization_id[:15]
    items = [WebhookEvent(f"salesforce:{org}:{n.notification_id}", n.object, n.record_id)
             for n in message.notifications]
    try:
        _run_dispatch("salesforce", items)
    except Unavailable as exc:
        return _soap_fault(503, "Server", str(exc))
    except InvalidRequest as exc:
        return _soap_fault(400, "Client", str(exc))
    # Acknowledge even ignored notifications: unacknowledged messages are retried for 24 hours.
    return Response(ACK_BODY, status=200, mimetype="text/xml")


def _salesforce_callout() -> Response | tuple[Response, int]:
    body = request.get_data(cache=True)
    config = current_app.config
    signature = request.headers.get("X-Baton-Signature")
    try:
        verify_baton(signature, request.headers.get("X-Baton-Timestamp"),
                     secret=config["BATON_SALESFORCE_FLOW_SECRET"], body=body, now=time.time(),
                     max_age=config["BATON_SIGNATURE_MAX_AGE_SECONDS"])
    except SignatureError as exc:
        log.warning("Salesforce callout refused: %s", exc)
        return error_response(401, str(exc))
    try:
        callout = parse_callout(body)
    except MalformedMessage as exc:
        return error_response(400, f"malformed callout: {exc}")
    if callout.object not in web_context().services.known_objects("salesforce"):
        return error_response(400, f"Baton does not sync Salesforce object {callout.object!r}")
    # One signed request is one event: a replay inside the window is a duplicate of it.
    request_key = hashlib.sha256((signature or "").encode()).hexdigest()
    items = [WebhookEvent(f"salesforce:callout:{request_key}:{record_id}", callout.object, record_id)
             for record_id in callout.record_ids]
    return _dispatch_json("salesforce", items)


def _dispatch_json(crm: str, items: list[WebhookEvent]) -> Response | tuple[Response, int]:
    try:
        result = _run_dispatch(crm, items)
    except Unavailable as exc:
        return error_response(503, str(exc))
    except InvalidRequest as exc:
        return error_response(400, str(exc))
    return jsonify(result.as_json()), 200


def _run_dispatch(crm: str, items: list[WebhookEvent]) -> DispatchResult:
    context = web_context()
    try:
        result = dispatch(context.services, context.deduper, crm, f"webhook:{crm}", items)
    except RedisError as exc:
        log.error("%s webhook: Redis error while deduplicating (%s)", crm, type(exc).__name__)
        raise Unavailable("the event store (Redis) is not reachable; retry later") from None
    except ServiceError as exc:
        log.error("%s webhook: could not queue re-evaluation: %s", crm, exc)
        raise
    log.info("%s webhook: %d events, %d duplicates, %d ignored, queued %s", crm, result.received,
             result.duplicates, result.ignored, result.records)
    return result


def _soap_fault(status: int, code: str, reason: str) -> Response:
    return Response(soap_fault(code, reason), status=status, mimetype="text/xml")
