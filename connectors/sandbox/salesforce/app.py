"""The WSGI application: logins, the REST API (with auth, limits, faults, counters) and the admin API.

Every REST response carries ``Sforce-Limit-Info: api-usage=N/M``; each authenticated call counts
against the daily limit, and past it the org answers 403 ``REQUEST_LIMIT_EXCEEDED`` as a real one does.
"""
from __future__ import annotations

import logging
import re
import socket
import time
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connectors.sandbox.faults import FaultDecision, FaultKind
from connectors.sandbox.salesforce import admin
from connectors.sandbox.salesforce.auth import bearer_token, oauth_token, soap_login
from connectors.sandbox.salesforce.errors import (
    SfError,
    invalid_session,
    not_found,
    request_limit_exceeded,
    unable_to_lock_row,
)
from connectors.sandbox.salesforce.http import Call, error_response, json_response
from connectors.sandbox.salesforce.routes import Route, Router

if TYPE_CHECKING:
    from connectors.sandbox.salesforce.sandbox import SalesforceSandbox

logger = logging.getLogger(__name__)
_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
_SOAP_PATH = re.compile(r"^/services/Soap/u/(\d+\.\d+)(?:/.*)?$")


class SalesforceApp:
    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sandbox = sandbox
        self.router = Router(sandbox.store, sandbox.dml, sandbox.faults.record_failure)
        self._server_errors = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request, environ)(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        path = request.path
        if path.startswith("/_sandbox/"):
            return admin.handle(self.sandbox, request)
        if path.rstrip("/") == "/services/oauth2/token" and request.method == "POST":
            self.sandbox.counters.count("POST oauth2/token")
            return oauth_token(request, self.sandbox.credentials, self.sandbox.sessions)
        soap = _SOAP_PATH.match(path)
        if soap and request.method == "POST":
            self.sandbox.counters.count("POST Soap/u/login")
            return soap_login(request, self.sandbox.credentials, self.sandbox.sessions, soap.group(1))
        if path.rstrip("/") == "/services/data":
            return json_response([{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}])
        match = _DATA_PATH.match(path)
        if not match:
            return error_response(not_found())
        segments = [part for part in (match.group(2) or "").split("/") if part]
        return self.rest(request, environ, match.group(1), segments)

    def rest(self, request: Request, environ: dict[str, Any], version: str, segments: list[str]) -> Response:
        store = self.sandbox.store
        call = Call(request, version, segments, stamp=store.clock.now())
        lock = {"on": False}
        try:
            route = self.router.route(call, lambda: lock["on"])
        except SfError as error:
            self.sandbox.counters.count(f"{request.method} {'/'.join(segments[:2])}")
            return self._finish(error_response(error))
        call.endpoint = route.endpoint
        refused = self._refuse(request, environ, route, lock)
        if refused is not None:
            self.sandbox.counters.count(route.endpoint)
            return refused
        call.stamp = store.clock.now()   # after any injected latency: the write happens now
        try:
            response = route.handler()
        except SfError as error:
            response = error_response(error)
        except Exception:
            logger.exception("sandbox error on %s", route.endpoint)
            response = json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred"}],
                                     500)
        self.sandbox.counters.count(route.endpoint, call.records)
        for object_name, ids in call.served.items():
            self.sandbox.apply_edits_after_read(object_name, ids)
        return self._finish(response)

    def _refuse(self, request: Request, environ: dict[str, Any], route: Route, lock: dict[str, bool]) -> Response | None:
        """Auth, injected faults and the daily limit, in that order; None when the call may proceed."""
        if not self.sandbox.sessions.is_valid(bearer_token(request)):
            return error_response(invalid_session())
        decision = self.sandbox.faults.decide(route.endpoint)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        fault = self._render_fault(decision, environ, route)
        if fault is not None:
            return self._finish(fault)
        if decision.kind is FaultKind.LOCK_ROW and route.is_collection:
            lock["on"] = True
        if not self.sandbox.store.count_api_call():
            return self._finish(error_response(request_limit_exceeded()))
        return None

    def _render_fault(self, decision: FaultDecision, environ: dict[str, Any], route: Route) -> Response | None:
        if decision.kind is FaultKind.RATE_LIMIT:
            return error_response(request_limit_exceeded())
        if decision.kind is FaultKind.SERVER_ERROR:
            self._server_errors += 1
            if self._server_errors % 2 == 0:
                return json_response([{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable"}],
                                     503)
            return json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred. "
                                   "Please include this ErrorId if you contact support: 1742651903-42 (-1234567)"}], 500)
        if decision.kind is FaultKind.TIMEOUT:
            time.sleep(decision.timeout_s)
            _drop_connection(environ)
            return Response(status=500)
        if decision.kind is FaultKind.LOCK_ROW and route.is_write and not route.is_collection:
            return error_response(unable_to_lock_row())
        return None

    def _finish(self, response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = self.sandbox.store.limit_info()
        return response


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's socket without an answer, as a timed-out load balancer does."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
