"""The sandbox admin API under ``/_sandbox/`` (never counted, never fault-injected).

- ``GET|PUT|DELETE /_sandbox/faults``     the FaultPlan (PUT replaces it; DELETE clears it)
- ``GET|DELETE /_sandbox/counters``       per-endpoint API call counters
- ``POST /_sandbox/edit``                 ``{object, id, fields[, force]}``: an edit by another user
- ``GET /_sandbox/records/{object}``      every row of an object (``?deleted=true`` includes deleted ones)
- ``POST /_sandbox/touch``                ``{object, ids[, timestamp]}``: one identical SystemModstamp
- ``DELETE /_sandbox/sessions``           expire every session (the connector must log in again)
- ``GET|PUT /_sandbox/limits``            ``{used, max}`` of the daily API request limit
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.salesforce.errors import SfError, not_found
from connectors.sandbox.salesforce.http import error_response, json_response
from connectors.sandbox.salesforce.rest_sobjects import known_object, render_record
from connectors.sandbox.salesforce.store import OTHER_USER_ID
from connectors.sandbox.salesforce.values import parse_datetime

if TYPE_CHECKING:
    from connectors.sandbox.salesforce.sandbox import SalesforceSandbox


def handle(sandbox: SalesforceSandbox, request: Request) -> Response:
    parts = [part for part in request.path.split("/") if part][1:]
    try:
        body = request.get_json(silent=True) if request.method in ("PUT", "POST") else None
        return _dispatch(sandbox, request, parts, body)
    except SfError as error:
        return error_response(error)
    except (ValueError, TypeError, KeyError) as exc:
        return json_response({"error": f"bad admin request: {exc}"}, 400)


def _dispatch(sandbox: SalesforceSandbox, request: Request, parts: list[str], body: Any) -> Response:
    method, name = request.method, parts[0] if parts else ""
    if name == "faults":
        if method == "PUT":
            sandbox.faults.set_plan(FaultPlan.from_json(body or {}))
        elif method == "DELETE":
            sandbox.faults.clear()
        return json_response(sandbox.faults.plan.to_json())
    if name == "counters":
        if method == "DELETE":
            sandbox.counters.reset()
        return json_response(sandbox.counters.snapshot())
    if name == "edit" and method == "POST":
        return json_response(sandbox.edit_as_other_user(body["object"], body["id"], body.get("fields", {}),
                                                        force=bool(body.get("force"))))
    if name == "records" and len(parts) == 2 and method == "GET":
        return json_response(_records(sandbox, parts[1], request.args.get("deleted") == "true"))
    if name == "touch" and method == "POST":
        stamp = parse_datetime(body["timestamp"]) if body.get("timestamp") else None
        return json_response(sandbox.touch(body["object"], list(body["ids"]), stamp))
    if name == "sessions" and method == "DELETE":
        return json_response({"expired": sandbox.sessions.expire_all()})
    if name == "limits":
        if method == "PUT":
            sandbox.store.api_used = int(body.get("used", sandbox.store.api_used))
            sandbox.store.api_max = int(body.get("max", sandbox.store.api_max))
        return json_response({"used": sandbox.store.api_used, "max": sandbox.store.api_max})
    raise not_found()


def _records(sandbox: SalesforceSandbox, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
    obj = known_object(object_name)
    with sandbox.store.lock:
        return [render_record(obj, row, "59.0", None) for row in sandbox.store.rows(obj.name, include_deleted)]


__all__ = ["OTHER_USER_ID", "handle"]
