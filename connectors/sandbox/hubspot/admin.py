"""Admin endpoints under ``/_sandbox/`` (not part of HubSpot's API; never counted, faulted or limited).

- ``GET/PUT/DELETE /_sandbox/faults``: the FaultPlan (JSON fields of ``connectors.sandbox.faults.FaultPlan``)
- ``GET/DELETE /_sandbox/counters``: per-endpoint call counters
- ``GET/PUT /_sandbox/limits``: natural rate limits (``ratelimit.Limits`` fields)
- ``POST /_sandbox/edit`` ``{"object","id","properties"}`` (or ``"fields"``): an edit by another user (CRM_UI); the same
  rules apply as for API writes, including forward-only ``lifecyclestage``
- ``POST /_sandbox/touch`` ``{"object","ids","modified"}`` (or ``"timestamp"``): give records one
  modified timestamp (ISO or epoch ms; default now)
- ``GET /_sandbox/records/{objectType}[?archived=true]``: every record with every property
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.hubspot.properties import DEFINITIONS, OBJECT_TYPES
from connectors.sandbox.hubspot.ratelimit import Limits
from connectors.sandbox.hubspot.store import ValidationFailed
from connectors.sandbox.hubspot.timeutil import iso_ms, now_ms, parse_ms

if TYPE_CHECKING:
    from connectors.sandbox.hubspot.sandbox import HubSpotSandbox


def _reply(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _problem(message: str, status: int = 400) -> Response:
    return _reply(status, {"error": message})


class AdminApi:
    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.sandbox = sandbox

    def handle(self, endpoint: str, request: Request, params: dict[str, str]) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}") if request.method in ("PUT", "POST") else {}
        except ValueError as error:
            return _problem(f"request body is not JSON: {error}")
        handler = getattr(self, endpoint.split(".", 1)[1])
        try:
            return handler(request, body, params)
        except (ValueError, TypeError) as error:
            return _problem(str(error))

    def faults(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        injector = self.sandbox.faults
        if request.method == "PUT":
            injector.set_plan(FaultPlan.from_json(body))
        elif request.method == "DELETE":
            injector.clear()
        return _reply(200, injector.plan.to_json())

    def counters(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        if request.method == "DELETE":
            self.sandbox.counters.reset()
        return _reply(200, self.sandbox.counters.snapshot())

    def limits(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        limiter = self.sandbox.limiter
        if request.method == "PUT":
            limiter.set_limits(Limits.from_json(body, limiter.limits))
        return _reply(200, {**limiter.limits.__dict__, "headers": limiter.headers()})

    def edit(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        object_type, record_id = _object_type(body.get("object")), str(body.get("id", ""))
        properties = body.get("properties") or body.get("fields") or {}
        try:
            record = self.sandbox.store.update(object_type, record_id, properties, source="CRM_UI")
        except KeyError:
            return _problem(f"no {object_type} record with id {record_id}", 404)
        except ValidationFailed as failed:
            return _problem(str(failed))
        return _reply(200, record.to_json(object_type, list(DEFINITIONS[object_type])))

    def touch(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        object_type = _object_type(body.get("object"))
        stamp = body.get("modified", body.get("timestamp"))   # "timestamp": the Salesforce sandbox's name
        modified = now_ms() if stamp is None else parse_ms(str(stamp))
        touched = self.sandbox.store.touch(object_type, [str(i) for i in body.get("ids") or []], modified)
        return _reply(200, {"touched": touched, "modified": iso_ms(modified)})

    def records(self, request: Request, body: dict[str, Any], params: dict[str, str]) -> Response:
        object_type = _object_type(params["object_type"])
        store = self.sandbox.store
        archived = (request.args.get("archived") or "").lower() == "true"
        with store.lock:
            table = store.tables[object_type]
            source = table.archived if archived else table.records
            results = [r.to_json(object_type, list(DEFINITIONS[object_type])) for r in source.values()]
        return _reply(200, {"results": results, "total": len(results)})


def _object_type(name: Any) -> str:
    if name not in OBJECT_TYPES:
        raise ValueError(f"object must be one of {', '.join(OBJECT_TYPES)}, not {name!r}")
    return str(name)
