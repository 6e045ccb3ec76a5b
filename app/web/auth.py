"""Bearer-token guard for the admin API (``Authorization: Bearer <BATON_ADMIN_TOKEN>``).

The token is compared in constant time and is never logged; failures say what is missing, not
what was expected.
"""
from __future__ import annotations

import hmac
import logging

from flask import Response, current_app, request

from app.web.errors import error_response

log = logging.getLogger(__name__)


def require_admin_token() -> Response | None:
    """``before_request`` hook: ``None`` lets the request through, a 401 response stops it."""
    expected: str = current_app.config["BATON_ADMIN_TOKEN"]
    if not expected:
        return _unauthorized("the admin API is disabled: no BATON_ADMIN_TOKEN is configured")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("missing credentials: send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        log.warning("admin API: wrong token from %s for %s", request.remote_addr, request.path)
        return _unauthorized("the bearer token is not valid")
    return None


def _unauthorized(reason: str) -> Response:
    response = error_response(401, reason)
    response.headers["WWW-Authenticate"] = 'Bearer realm="baton-admin"'
    return response
