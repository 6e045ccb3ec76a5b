"""One error hierarchy for every CRM failure.

Callers (workers) decide what to do by class only: retry later, wait ``retry_after`` seconds,
re-authenticate, or give up. Messages never include secrets (tokens, passwords, session ids).
"""
from __future__ import annotations


class CrmError(Exception):
    """Base of every connector error."""

    def __init__(self, message: str, *, crm: str = "", operation: str = "", status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.crm = crm
        self.operation = operation
        self.status = status
        self.code = code

    def __str__(self) -> str:
        where = f"{self.crm} {self.operation}".strip()
        detail = f" [{self.status or ''}{' ' if self.status and self.code else ''}{self.code or ''}]"
        return f"{where}: {self.message}{detail if (self.status or self.code) else ''}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable form, for job results and the audit log."""
        return {"type": type(self).__name__, "crm": self.crm, "operation": self.operation,
                "status": self.status, "code": self.code, "message": self.message}


class AuthError(CrmError):
    """Credentials are missing, wrong or expired and could not be refreshed. Fix configuration."""


class FatalError(CrmError):
    """The request itself is wrong (bad query, unknown field, forbidden). Retrying will not help."""


class RetriableError(CrmError):
    """A transient failure (5xx, timeout, lock contention). The same call may succeed later."""


class RateLimited(RetriableError):
    """The CRM refused the call for quota. Wait ``retry_after`` seconds (None: the CRM did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "retry_after": self.retry_after}
