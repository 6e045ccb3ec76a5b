"""The WSGI application: routing, auth, faults, rate limits, counters, HubSpot-style responses.

Every API call (not ``/_sandbox/`` admin calls) goes through the same steps, in the order the real
service applies them as far as a client can tell: count the call under its endpoint key
(``"POST /crm/v3/objects/contacts/search"``), add latency, check the Bearer token (401), apply an
injected fault (429 with or without ``Retry-After``, 5xx, timeout), apply the natural rate limits
(429 ``TEN_SECONDLY_ROLLING`` / search ``SECONDLY``), run the handler, add the
``X-HubSpot-RateLimit-*`` headers, then play any "edit after read" fault on the records it served.
"""
from __future__ import annotations

import json
import math
import time
import uuid
from typing import TYPE_CHECKING, Any, NoReturn

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sandbox.faults import FaultDecision, FaultKind
from connectors.sandbox.hubspot import pipelines
from connectors.sandbox.hubspot.errors import HubSpotApiError, bad_request
from connectors.sandbox.hubspot.properties import DEFINITIONS, OBJECT_TYPES
from connectors.sandbox.hubspot.ratelimit import POLICY_MESSAGES

if TYPE_CHECKING:
    from connectors.sandbox.hubspot.sandbox import HubSpotSandbox

AUTH_MESSAGE = ("Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
OBJECTS = "/crm/v3/objects/<any(contacts, companies, deals):object_type>"
URL_MAP = Map([
    Rule(OBJECTS, methods=["GET"], endpoint="list"),
    Rule(OBJECTS, methods=["POST"], endpoint="create"),
    Rule(f"{OBJECTS}/search", methods=["POST"], endpoint="search"),
    Rule(f"{OBJECTS}/batch/<action>", methods=["POST"], endpoint="batch"),
    Rule(f"{OBJECTS}/<record_id>", methods=["GET"], endpoint="get"),
    Rule(f"{OBJECTS}/<record_id>", methods=["PATCH"], endpoint="update"),
    Rule(f"{OBJECTS}/<record_id>", methods=["DELETE"], endpoint="archive"),
    Rule("/crm/v3/properties/<object_type>", methods=["GET"], endpoint="properties"),
    Rule("/crm/v3/properties/<object_type>/<name>", methods=["GET"], endpoint="property"),
    Rule("/crm/v3/pipelines/<object_type>", methods=["GET"], endpoint="pipelines"),
    Rule("/crm/v3/pipelines/<object_type>/<pipeline_id>", methods=["GET"], endpoint="pipeline"),
    Rule("/crm/v3/pipelines/<object_type>/<pipeline_id>/stages", methods=["GET"], endpoint="stages"),
    Rule("/_sandbox/faults", methods=["GET", "PUT", "DELETE"], endpoint="admin.faults"),
    Rule("/_sandbox/counters", methods=["GET", "DELETE"], endpoint="admin.counters"),
    Rule("/_sandbox/limits", methods=["GET", "PUT"], endpoint="admin.limits"),
    Rule("/_sandbox/edit", methods=["POST"], endpoint="admin.edit"),
    Rule("/_sandbox/touch", methods=["POST"], endpoint="admin.touch"),
    Rule("/_sandbox/records/<object_type>", methods=["GET"], endpoint="admin.records"),
], strict_slashes=False)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204 or body is None:
        return Response(status=status, headers=headers)
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json;charset=utf-8")


def endpoint_key(method: str, endpoint: str, params: dict[str, str]) -> str:
    """A stable name per endpoint, e.g. ``PATCH /crm/v3/objects/deals/{id}``."""
    object_type = params.get("object_type", "")
    base = f"/crm/v3/objects/{object_type}"
    paths = {"list": base, "create": base, "search": f"{base}/search", "batch": f"{base}/batch/{params.get('action')}",
             "get": f"{base}/{{id}}", "update": f"{base}/{{id}}", "archive": f"{base}/{{id}}",
             "properties": f"/crm/v3/properties/{object_type}", "property": f"/crm/v3/properties/{object_type}/{{name}}",
             "pipelines": f"/crm/v3/pipelines/{object_type}", "pipeline": f"/crm/v3/pipelines/{object_type}/{{id}}",
             "stages": f"/crm/v3/pipelines/{object_type}/{{id}}/stages"}
    return f"{method} {paths.get(endpoint, endpoint)}"


class HubSpotApp:
    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, matched = URL_MAP.bind_to_environ(environ).match()
            params = {key: str(value) for key, value in matched.items()}
        except NotFound:
            response = json_response(404, HubSpotApiError(404, "OBJECT_NOT_FOUND", "Not found").body())
            return response(environ, start_response)
        except MethodNotAllowed:
            response = json_response(405, HubSpotApiError(405, "VALIDATION_ERROR", "Method not allowed").body())
            return response(environ, start_response)
        except HTTPException as error:  # e.g. a redirect for a trailing slash
            return error(environ, start_response)
        if endpoint.startswith("admin."):
            response = self.sandbox.admin.handle(endpoint, request, params)
        else:
            response = self.api_call(request, endpoint, params)
        return response(environ, start_response)

    def api_call(self, request: Request, endpoint: str, params: dict[str, str]) -> Response:
        key = endpoint_key(request.method, endpoint, params)
        sandbox, records = self.sandbox, 0
        try:
            decision = sandbox.faults.decide(key)
            if decision.latency_s:
                time.sleep(decision.latency_s)
            if request.headers.get("Authorization", "") != f"Bearer {sandbox.access_token}":
                return json_response(401, HubSpotApiError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE).body())
            fault = self._fault_response(decision)
            if fault is not None:
                return fault
            verdict = sandbox.limiter.admit(is_search=endpoint == "search")
            if not verdict.allowed:
                return json_response(429, _rate_limit_body(verdict.policy), verdict.headers)
            try:
                status, body, served = self._dispatch(request, endpoint, params)
            except HubSpotApiError as error:
                return json_response(error.status, error.body(), {**(verdict.headers or {}), **error.headers})
            records = len(served) or _input_count(request)
            if served:
                sandbox.apply_edits_after_read(params.get("object_type", ""), served)
            return json_response(status, body, verdict.headers)
        finally:
            sandbox.counters.count(key, records)

    @staticmethod
    def _fault_response(decision: FaultDecision) -> Response | None:
        if decision.kind is FaultKind.RATE_LIMIT:
            # Retry-After in whole seconds: HTTP allows only integers (or a date); clients reject "0.5".
            headers = {} if decision.retry_after_s is None else {"Retry-After": str(math.ceil(decision.retry_after_s))}
            return json_response(429, _rate_limit_body("TEN_SECONDLY_ROLLING"), headers)
        if decision.kind is FaultKind.SERVER_ERROR:
            body = HubSpotApiError(500, "INTERNAL_ERROR", "internal error").body()
            return json_response(500, body)
        if decision.kind is FaultKind.TIMEOUT:
            time.sleep(decision.timeout_s)   # past the client's timeout: it has given up by now
            return json_response(504, HubSpotApiError(504, "GATEWAY_TIMEOUT", "Gateway timeout").body())
        return None   # LOCK_ROW is Salesforce-only: HubSpot has no row locks to report

    def _dispatch(self, request: Request, endpoint: str, params: dict[str, str]) -> tuple[int, Any, list[str]]:
        api, object_type = self.sandbox.objects_api, params.get("object_type", "")
        if endpoint == "list":
            return api.list_page(object_type, request.args)
        if endpoint == "get":
            return api.get(object_type, params["record_id"], request.args)
        if endpoint == "archive":
            return api.archive(object_type, params["record_id"])
        if endpoint in ("properties", "property", "pipelines", "pipeline", "stages"):
            return _metadata(endpoint, params)
        body = _json_body(request)
        if endpoint == "create":
            return api.create(object_type, body)
        if endpoint == "update":
            return api.update(object_type, params["record_id"], body)
        if endpoint == "batch":
            return api.batch(object_type, params["action"], body, request.args)
        return api.search(object_type, body)


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError as error:
        raise bad_request(f"Invalid input JSON: {error}") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid input JSON: expected an object")
    return body


def _input_count(request: Request) -> int:
    if request.method != "POST":
        return 0
    try:
        return len(json.loads(request.get_data() or b"{}").get("inputs") or [])
    except (ValueError, AttributeError):
        return 0


def _rate_limit_body(policy: str) -> dict[str, Any]:
    return {"status": "error", "message": POLICY_MESSAGES[policy], "errorType": "RATE_LIMIT",
            "category": "RATE_LIMITS", "correlationId": str(uuid.uuid4()), "policyName": policy,
            "groupName": "publicapi:private-app-api-calls-ten-secondly:sandbox"}


def _metadata(endpoint: str, params: dict[str, str]) -> tuple[int, Any, list[str]]:
    object_type = params["object_type"]
    if endpoint in ("properties", "property"):
        if object_type not in OBJECT_TYPES:
            raise bad_request(f"Unable to infer object type from: {object_type}")
        defs = DEFINITIONS[object_type]
        if endpoint == "properties":
            return 200, {"results": [d.to_json(i) for i, d in enumerate(defs.values())]}, []
        defn = defs.get(params["name"])
        if defn is None:
            raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {params['name']}")
        return 200, defn.to_json(list(defs).index(defn.name)), []
    if object_type != "deals":
        if endpoint == "pipelines":
            return 200, {"results": []}, []
        _missing_pipeline(params)
    if endpoint == "pipelines":
        return 200, {"results": [pipelines.pipeline_json(p) for p in pipelines.PIPELINES]}, []
    pipeline_id = params["pipeline_id"]
    if pipeline_id not in pipelines.PIPELINES:
        _missing_pipeline(params)
    if endpoint == "pipeline":
        return 200, pipelines.pipeline_json(pipeline_id), []
    return 200, {"results": pipelines.pipeline_json(pipeline_id)["stages"]}, []


def _missing_pipeline(params: dict[str, str]) -> NoReturn:
    raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {params.get('pipeline_id')}")
