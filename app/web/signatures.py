"""Webhook signature checks, as pure functions over bytes (no Flask, unit-testable).

HubSpot signs deliveries three ways (developers.hubspot.com, "Validating requests"):

* v1: ``sha256_hex(client_secret + body)``
* v2: ``sha256_hex(client_secret + method + uri + body)``
* v3: ``base64(hmac_sha256(client_secret, method + uri + body + timestamp_ms))``, timestamp in
  ``X-HubSpot-Request-Timestamp``, rejected when more than 5 minutes away from now.

Baton's own scheme for Salesforce Flow/Apex callouts is
``X-Baton-Signature: sha256=hex(hmac_sha256(secret, timestamp + "." + body))`` with the Unix time
in seconds in ``X-Baton-Timestamp``; signing the timestamp with the body stops a replayer from
refreshing it.

Every comparison is constant-time (:func:`hmac.compare_digest`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

DEFAULT_MAX_AGE_SECONDS = 300

# HubSpot computes v3 signatures over the URI with these percent-escapes decoded (HubSpot's
# request-validation docs list exactly these characters).
_HUBSPOT_URI_DECODES: tuple[tuple[str, str], ...] = (
    ("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"),
    ("%27", "'"), ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";"),
)


class SignatureError(Exception):
    """A delivery failed authentication. The message says why, never with secret material."""


@dataclass(frozen=True, slots=True)
class HubSpotHeaders:
    """The signature-related headers of a HubSpot delivery (``None`` when absent)."""

    signature_v3: str | None
    timestamp: str | None
    signature: str | None
    signature_version: str | None


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot would send for this request."""
    message = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def hubspot_legacy_signature(secret: str, version: str, method: str, uri: str, body: bytes) -> str:
    """The v1 or v2 signature HubSpot would send for this request."""
    if version == "v1":
        message = secret.encode() + body
    elif version == "v2":
        message = secret.encode() + method.encode() + uri.encode() + body
    else:
        raise SignatureError(f"unsupported X-HubSpot-Signature-Version {version[:8]!r}")
    return hashlib.sha256(message).hexdigest()


def hubspot_uri_variants(uri: str) -> list[str]:
    """The URI as received, and as HubSpot documents decoding it before signing."""
    decoded = uri
    for escape, char in _HUBSPOT_URI_DECODES:
        decoded = decoded.replace(escape, char).replace(escape.lower(), char)
    return [uri] if decoded == uri else [uri, decoded]


def check_timestamp(timestamp: str | None, now: float, max_age: float, unit_per_second: int) -> None:
    """Raise unless ``timestamp`` (an integer in seconds / ``unit_per_second``) is within
    ``max_age`` seconds of ``now``, in either direction (a future stamp is as suspect as an old one)."""
    if not timestamp:
        raise SignatureError("missing request timestamp")
    try:
        seconds = int(timestamp) / unit_per_second
    except ValueError:
        raise SignatureError("request timestamp is not an integer") from None
    if abs(now - seconds) > max_age:
        raise SignatureError(f"request timestamp is outside the {int(max_age)} s window "
                             "(stale, replayed, or the clocks disagree)")


def verify_hubspot(headers: HubSpotHeaders, *, secret: str, versions: frozenset[str], method: str,
                   uri: str, body: bytes, now: float,
                   max_age: float = DEFAULT_MAX_AGE_SECONDS) -> str:
    """Check a HubSpot delivery; return the signature version that verified it.

    v3 is used when its header is present and v3 is accepted; otherwise v1/v2 when configured.
    A present but wrong v3 signature never falls back to v1 (that would let a forger pick the
    weaker scheme).
    """
    if not secret:
        raise SignatureError("HubSpot client secret is not configured")
    if headers.signature_v3 is not None and "v3" in versions:
        check_timestamp(headers.timestamp, now, max_age, unit_per_second=1000)
        assert headers.timestamp is not None
        for candidate in hubspot_uri_variants(uri):
            expected = hubspot_v3_signature(secret, method, candidate, body, headers.timestamp)
            if hmac.compare_digest(expected.encode(), headers.signature_v3.encode()):
                return "v3"
        raise SignatureError("X-HubSpot-Signature-v3 does not match")
    legacy = (headers.signature_version or "").lower()
    if headers.signature is not None and legacy in versions and legacy in ("v1", "v2"):
        expected = hubspot_legacy_signature(secret, legacy, method, uri, body)
        if hmac.compare_digest(expected.encode(), headers.signature.strip().lower().encode()):
            return legacy
        raise SignatureError("X-HubSpot-Signature does not match")
    accepted = ", ".join(sorted(versions))
    raise SignatureError(f"no HubSpot signature of an accepted version ({accepted})")


def baton_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Baton-Signature`` header value for a callout (``sha256=<hex>``)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_baton(signature: str | None, timestamp: str | None, *, secret: str, body: bytes,
                 now: float, max_age: float = DEFAULT_MAX_AGE_SECONDS) -> None:
    """Check Baton's shared-secret signature on a Salesforce Flow/Apex callout."""
    if not secret:
        raise SignatureError("Salesforce webhook secret is not configured")
    if not signature:
        raise SignatureError("missing X-Baton-Signature")
    check_timestamp(timestamp, now, max_age, unit_per_second=1)
    assert timestamp is not None
    expected = baton_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("X-Baton-Signature does not match")
