"""The Salesforce REST error: an HTTP status plus the JSON array body ``[{message, errorCode, fields}]``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SfError(Exception):
    """One API error, rendered as the real API does (401 bodies are lists too: the SDK indexes ``[0]``)."""

    status: int
    code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def body(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            entry["fields"] = self.fields
        return [entry]

    def record_error(self) -> dict[str, Any]:
        """The per-record form used inside sObject Collections results (key ``statusCode``)."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


def malformed_query(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def invalid_field(message: str) -> SfError:
    return SfError(400, "INVALID_FIELD", message)


def invalid_session() -> SfError:
    return SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> SfError:
    return SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def unable_to_lock_row() -> SfError:
    return SfError(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
