"""JSON errors everywhere: every HTTP error, and every unexpected exception, becomes
``{"error": "<slug>", "reason": "<what went wrong and what to do>"}``.

Unexpected exceptions are logged with their traceback and answered with a generic reason and the
request id, so nothing internal (paths, SQL, URLs with passwords) reaches the caller.
"""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

log = logging.getLogger(__name__)


def error_response(status: int, reason: str, **extra: Any) -> Response:
    """A JSON error response; ``error`` is the status phrase as a slug (``not_found``)."""
    slug = _slug(status)
    response = jsonify({"error": slug, "reason": reason, **extra})
    response.status_code = status
    return response


# Fixed slugs for the statuses the API documents: Python renamed some phrases in 3.13
# ("Content Too Large"), and clients may match on these.
_SLUGS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "request_entity_too_large", 415: "unsupported_media_type",
          422: "unprocessable_entity", 500: "internal_server_error", 503: "service_unavailable"}


def _slug(status: int) -> str:
    if status in _SLUGS:
        return _SLUGS[status]
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _unexpected_error(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    request_id = g.get("request_id", "-")
    log.exception("unhandled error (request id %s)", request_id)
    return error_response(InternalServerError.code, "internal server error; the service log has "
                          f"the details under request id {request_id}")


def register_error_handlers(app: Flask) -> None:
    """Install the JSON handlers on ``app`` (covers every blueprint and unknown URLs)."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
