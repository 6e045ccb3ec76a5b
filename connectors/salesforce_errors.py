"""One mapping from every Salesforce failure (errorCode, HTTP status, SDK or transport exception) to
the connector error hierarchy. Messages carry the errorCode and Salesforce's message only: never the
URL's session, the request headers or the credentials.
"""
from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.errors import AuthError, CrmError, FatalError, RateLimited, RetriableError

CRM = "salesforce"
RETRIABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "INVALID_QUERY_LOCATOR",
                             "QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG"})
RATE_LIMIT_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS"})
AUTH_CODES = frozenset({"INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "INVALID_LOGIN"})
MAX_MESSAGE = 300


def first_error(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error body (a JSON list), or (None, text)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        entry = content[0]
        return entry.get("errorCode") or entry.get("statusCode"), str(entry.get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode") or content.get("error"), str(content.get("message", ""))
    return None, str(content or "")[:MAX_MESSAGE]


def map_error(exc: BaseException, operation: str) -> CrmError:
    """The connector error for ``exc``; unknown exception types are wrapped as fatal."""
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthError(f"login refused: {getattr(exc, 'auth_message', '')}"[:MAX_MESSAGE], crm=CRM, operation=operation,
                         code=str(exc.code))
    if isinstance(exc, SalesforceError):
        return _from_api_error(exc, operation)
    if isinstance(exc, requests.Timeout):
        return RetriableError("no answer before the timeout", crm=CRM, operation=operation, code="TIMEOUT")
    if isinstance(exc, requests.ConnectionError):
        return RetriableError("connection failed or was dropped", crm=CRM, operation=operation, code="CONNECTION")
    if isinstance(exc, requests.RequestException):
        return RetriableError(f"transport error: {type(exc).__name__}", crm=CRM, operation=operation)
    return FatalError(f"unexpected {type(exc).__name__}", crm=CRM, operation=operation)


def _from_api_error(exc: SalesforceError, operation: str) -> CrmError:
    code, message = first_error(exc.content)
    status = exc.status
    kwargs: dict[str, Any] = {"crm": CRM, "operation": operation, "status": status, "code": code}
    text = (message or f"HTTP {status}")[:MAX_MESSAGE]
    if status == 401 or code in AUTH_CODES:
        return AuthError(text, **kwargs)
    if code in RATE_LIMIT_CODES:
        return RateLimited(text, retry_after=None, **kwargs)
    if code in RETRIABLE_CODES or status >= 500:
        return RetriableError(text, **kwargs)
    return FatalError(text, **kwargs)
