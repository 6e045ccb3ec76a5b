"""``/healthz`` (the process answers) and ``/readyz`` (its database and Redis answer too)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from app.web.context import web_context
from app.web.jsonable import jsonable
from app.web.services import ComponentCheck

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: no dependency is touched, so a Redis outage does not get the process restarted."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 when every dependency answers, 503 (with which one failed) otherwise."""
    try:
        checks = web_context().services.readiness()
    except Exception as exc:   # a readiness probe must answer, whatever broke
        log.warning("readiness check failed: %s", type(exc).__name__)
        checks = [ComponentCheck("services", False, f"readiness check failed ({type(exc).__name__})")]
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not_ready", "checks": jsonable(checks)}
    return jsonify(body), 200 if ready else 503
