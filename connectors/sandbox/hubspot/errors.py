"""HubSpot's error bodies: ``{"status":"error","message","correlationId","category",...}``."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PropertyProblem:
    """One invalid property value, as listed in a VALIDATION_ERROR."""

    name: str
    code: str            # INVALID_OPTION, INVALID_DATE, READ_ONLY_VALUE, PROPERTY_DOESNT_EXIST, ...
    message: str

    def detail(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "context": {"propertyName": [self.name]}}


class HubSpotApiError(Exception):
    """Raised inside the sandbox; rendered as HubSpot's JSON error with the given status."""

    def __init__(self, status: int, category: str, message: str, *, errors: list[dict[str, Any]] | None = None,
                 context: dict[str, list[str]] | None = None, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.context = context
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "error", "message": self.message,
                                "correlationId": str(uuid.uuid4()), "category": self.category}
        if self.errors:
            body["errors"] = self.errors
        if self.context:
            body["context"] = self.context
        body.update(self.extra)
        return body


@dataclass
class InputError:
    """A per-input failure inside a batch call (a StandardError entry of a 207 response)."""

    category: str
    message: str
    context: dict[str, list[str]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"status": "error", "category": self.category, "message": self.message,
                "context": self.context, "links": {}, "errors": self.errors}


def validation_message(problems: list[PropertyProblem]) -> str:
    """HubSpot's wording: ``Property values were not valid: [{...}]`` (a JSON list inside the text)."""
    import json
    listed = [{"isValid": False, "message": p.message, "error": p.code, "name": p.name} for p in problems]
    return f"Property values were not valid: {json.dumps(listed)}"


def validation_error(problems: list[PropertyProblem]) -> HubSpotApiError:
    return HubSpotApiError(400, "VALIDATION_ERROR", validation_message(problems),
                           errors=[p.detail() for p in problems])


def not_found(object_type: str, record_id: str) -> HubSpotApiError:
    return HubSpotApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {object_type} {record_id}")


def bad_request(message: str) -> HubSpotApiError:
    return HubSpotApiError(400, "VALIDATION_ERROR", message)
