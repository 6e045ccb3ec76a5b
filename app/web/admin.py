"""``/api/v1``: the admin API (bearer token). Each view validates its input, calls one
:class:`app.web.services.Services` method and returns its result as JSON."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from app.web.auth import require_admin_token
from app.web.context import web_context
from app.web.errors import error_response
from app.web.jsonable import jsonable
from app.web.services import InvalidRequest, NotFound, RuleProblem, ServiceError, Unavailable

bp = Blueprint("admin", __name__, url_prefix="/api/v1")
bp.before_request(require_admin_token)

CRMS = ("hubspot", "salesforce")
_YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
                         "text/plain"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
ViewResult = Response | tuple[Response, int]


class BadInput(Exception):
    """The request itself is wrong (400); the message says how to fix it."""


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Response:
    return error_response(400, str(exc))


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    status = next((code for kind, code in ((NotFound, 404), (InvalidRequest, 400), (Unavailable, 503))
                   if isinstance(exc, kind)), 500)
    return error_response(status, str(exc) or "the service could not complete the request")


@bp.get("/syncs")
def list_syncs() -> ViewResult:
    return jsonify({"syncs": jsonable(web_context().services.sync_status())})


@bp.post("/syncs")
def start_sync() -> ViewResult:
    body = _json_object()
    crm = body.get("crm")
    if crm not in CRMS:
        raise BadInput(f"'crm' must be one of {list(CRMS)}")
    object_name = body.get("object")
    if object_name is not None and not isinstance(object_name, str):
        raise BadInput("'object' must be a CRM object name or null (every configured object)")
    full, dry_run = _flag(body, "full"), _flag(body, "dry_run")
    jobs = web_context().services.start_sync(crm, object_name, full, dry_run)
    return jsonify({"jobs": jobs}), 202


@bp.get("/queues")
def queues() -> ViewResult:
    return jsonify({"queues": jsonable(web_context().services.queue_status())})


@bp.get("/jobs/failed")
def failed_jobs() -> ViewResult:
    return jsonify({"jobs": jsonable(web_context().services.failed_jobs())})


@bp.post("/jobs/failed/<job_id>/retry")
def retry_failed(job_id: str) -> ViewResult:
    return jsonify({"job": web_context().services.retry_failed(job_id)}), 202


@bp.get("/rate-limits")
def rate_limits() -> ViewResult:
    return jsonify({"budgets": jsonable(web_context().services.rate_limit_budget())})


@bp.get("/rules")
def list_rules() -> ViewResult:
    return jsonify({"versions": jsonable(web_context().services.list_rules_versions())})


@bp.post("/rules")
def upload_rules() -> ViewResult:
    """Store a rules file as a new version; ``?activate=true`` also makes it active if valid."""
    text, filename = _rules_file()
    uploaded_by = _SAFE_NAME.sub("_", request.headers.get("X-Baton-User", "admin-api"))[:80]
    services = web_context().services
    version, problems = services.upload_rules(text, filename, uploaded_by)
    if version is None:
        return _problems_response(problems)
    if _query_flag("activate"):
        version = services.activate_rules(version.version)
    return jsonify({"version": jsonable(version)}), 201


@bp.post("/rules/<int:version>/activate")
def activate_rules(version: int) -> ViewResult:
    return jsonify({"version": jsonable(web_context().services.activate_rules(version))})


@bp.post("/rules/dry-run")
def dry_run() -> ViewResult:
    """Evaluate a rules file against every stored snapshot; nothing is written."""
    text, filename = _rules_file()
    report, problems = web_context().services.dry_run(text, filename)
    if report is None:
        return _problems_response(problems)
    return jsonify({"report": jsonable(report)})


@bp.get("/records/<crm>/<object_name>/<record_id>")
def record(crm: str, object_name: str, record_id: str) -> ViewResult:
    """A record's latest snapshot and decision history with explanations."""
    if crm not in CRMS:
        raise BadInput(f"crm must be one of {list(CRMS)}")
    return jsonify({"record": jsonable(web_context().services.record_history(crm, object_name, record_id))})


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("send a JSON object body with Content-Type: application/json")
    return body


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadInput(f"'{name}' must be true or false")
    return value


def _query_flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise BadInput(f"query parameter '{name}' must be true or false")
    return value in ("true", "1")


def _rules_file() -> tuple[str, str]:
    """The uploaded rules text and a safe file name: multipart field ``file`` or a raw YAML body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadInput("multipart upload needs the rules file in the field 'file'")
        data, name = upload.read(), upload.filename or "rules.yaml"
    elif request.mimetype in _YAML_TYPES:
        data, name = request.get_data(cache=True), request.args.get("filename", "rules.yaml")
    else:
        raise BadInput("send the rules file as multipart/form-data (field 'file') or as a raw "
                       "body with Content-Type: application/yaml")
    if not data.strip():
        raise BadInput("the rules file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the rules file must be UTF-8 text") from None
    return text, _safe_filename(name)


def _safe_filename(name: str) -> str:
    # Only the base name, in a conservative alphabet: it is echoed in problems and stored.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _SAFE_NAME.sub("_", base)[:100] or "rules.yaml"


def _problems_response(problems: list[RuleProblem]) -> ViewResult:
    listed = [{**jsonable(problem), "text": str(problem)} for problem in problems]
    return error_response(422, f"the rules file has {len(problems)} problem(s); the active rules "
                               "are unchanged", problems=listed), 422
