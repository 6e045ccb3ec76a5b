"""``/openapi.json``: the OpenAPI description (kept as YAML next to this module) served as JSON."""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__)


@cache
def openapi_document() -> dict[str, Any]:
    """The parsed ``openapi.yaml`` (read once per process)."""
    text = resources.files("app.web").joinpath("openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi_document())
