"""Response helpers: JSON bodies, 204 without body or Content-Type, error arrays, and the request context."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from connectors.sandbox.salesforce.errors import SfError

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Call:
    """One REST API request: the path after ``/services/data/vXX.X/`` split into segments."""

    request: Request
    version: str
    segments: list[str]
    stamp: dt.datetime                  # the write timestamp shared by everything this call changes
    records: int = 0                    # records carried, for the call counters
    endpoint: str = ""
    served: dict[str, set[str]] = field(default_factory=dict)   # object -> ids this response served

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg} at [line:{exc.lineno}, "
                          f"column:{exc.colno}]") from None

    def serve(self, object_name: str, ids: list[str]) -> None:
        self.served.setdefault(object_name, set()).update(ids)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type=JSON_TYPE)


def no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def error_response(error: SfError) -> Response:
    return json_response(error.body(), error.status)
