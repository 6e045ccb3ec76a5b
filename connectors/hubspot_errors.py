"""One error mapping for every HubSpot SDK module, and the rate-limit headers.

Each SDK module has its own ``ApiException`` class (``hubspot.crm.contacts.ApiException`` is not
``hubspot.crm.deals.ApiException``), so errors are recognised by their ``status`` attribute, not by
class. urllib3 errors (timeouts, refused connections) surface raw because the connector turns the
SDK's hidden urllib3 retries off (see ``connectors.hubspot``).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from connectors.errors import AuthError, CrmError, FatalError, RateLimited, RetriableError

CRM = "hubspot"


@dataclass(frozen=True)
class RateLimitStatus:
    """The last ``X-HubSpot-RateLimit-*`` headers seen (None where the response had none)."""

    remaining: int | None = None            # calls left in the current interval
    max: int | None = None                  # calls allowed per interval
    interval_ms: int | None = None
    secondly: int | None = None
    secondly_remaining: int | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None) -> RateLimitStatus | None:
        if not headers or headers.get("X-HubSpot-RateLimit-Max") is None:
            return None

        def number(name: str) -> int | None:
            value = headers.get(f"X-HubSpot-RateLimit-{name}")
            return int(value) if value and value.isdigit() else None
        return cls(number("Remaining"), number("Max"), number("Interval-Milliseconds"), number("Secondly"),
                   number("Secondly-Remaining"), number("Daily"), number("Daily-Remaining"))


def _body(error: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(getattr(error, "body", None) or "{}")
        return parsed if isinstance(parsed, dict) else {}
    except (TypeError, ValueError):
        return {}


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_error(error: BaseException, operation: str) -> CrmError | None:
    """The CrmError for an SDK/transport failure, or None when ``error`` is not one (a bug: re-raise it)."""
    if isinstance(error, CrmError):
        return error
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return _from_status(error, status, operation)
    reason = getattr(error, "reason", None)
    if isinstance(error, urllib3.exceptions.SSLError) or isinstance(reason, urllib3.exceptions.SSLError):
        # A certificate the client does not trust will not fix itself: configuration (ca_cert) is wrong.
        return FatalError(f"TLS verification failed: {reason or error}", crm=CRM, operation=operation)
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        # ReadTimeoutError, ConnectTimeoutError, NewConnectionError, ProtocolError, MaxRetryError
        return RetriableError(f"{type(error).__name__}: the call did not complete", crm=CRM, operation=operation)
    return None


def _from_status(error: Any, status: int, operation: str) -> CrmError:
    body = _body(error)
    message = str(body.get("message") or getattr(error, "reason", "") or "HubSpot error")
    # 429 bodies name the policy that was hit (TEN_SECONDLY_ROLLING, SECONDLY, DAILY): the useful code.
    code = (body.get("policyName") if status == 429 else None) or body.get("category") or body.get("errorType")
    def make(kind: type[CrmError], text: str) -> CrmError:
        return kind(text, crm=CRM, operation=operation, status=status, code=code)
    if status == 0:   # the SDK reports TLS failures as ApiException(status=0)
        return make(FatalError, f"TLS/connection setup failed: {getattr(error, 'reason', '')}".strip())
    if status == 401:
        return make(AuthError, message)
    if status == 429:
        return RateLimited(message, retry_after=retry_after_seconds(getattr(error, "headers", None)), crm=CRM,
                           operation=operation, status=status, code=code)
    if status >= 500:
        return make(RetriableError, message)
    return make(FatalError, message)
