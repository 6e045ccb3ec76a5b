"""The signature checks as pure functions, against HubSpot's SDK and plain hmac."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hubspot.utils.signature import Signature

from app.web.signatures import (
    HubSpotHeaders,
    SignatureError,
    baton_signature,
    hubspot_uri_variants,
    verify_baton,
    verify_hubspot,
)

SECRET = "s3cret"
URI = "https://hooks.example.com/webhooks/hubspot?tenant=acme"
BODY = b'[{"eventId":1,"objectId":2}]'
NOW = 1_700_000_000.0
STAMP = str(int(NOW * 1000))
ALL = frozenset({"v1", "v2", "v3"})


def v3_headers(signature: str, timestamp: str = STAMP) -> HubSpotHeaders:
    return HubSpotHeaders(signature_v3=signature, timestamp=timestamp, signature=None, signature_version=None)


def sdk(version: str, uri: str = URI, timestamp: str | None = STAMP) -> str:
    return Signature.get_signature(SECRET, BODY.decode(), version, uri, "POST", timestamp)


def verify(headers: HubSpotHeaders, versions: frozenset[str] = ALL, uri: str = URI, now: float = NOW) -> str:
    return verify_hubspot(
        headers, secret=SECRET, versions=versions, method="POST", uri=uri, body=BODY, now=now
    )


def test_v3_signature_from_the_sdk_verifies() -> None:
    assert verify(v3_headers(sdk("v3"))) == "v3"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_legacy_signatures_from_the_sdk_verify_when_accepted(version: str) -> None:
    headers = HubSpotHeaders(None, None, sdk(version, timestamp=None), version)
    assert verify(headers) == version


def test_legacy_signature_is_refused_unless_configured() -> None:
    headers = HubSpotHeaders(None, None, sdk("v1", timestamp=None), "v1")
    with pytest.raises(SignatureError, match="accepted version"):
        verify(headers, versions=frozenset({"v3"}))


@pytest.mark.parametrize("offset_seconds", [-301, 301, -3600])
def test_v3_timestamp_outside_the_window_is_refused(offset_seconds: int) -> None:
    # The signature is valid for the stamp; only its age (or future date) is wrong.
    stamp = str(int((NOW + offset_seconds) * 1000))
    with pytest.raises(SignatureError, match="window"):
        verify(v3_headers(sdk("v3", timestamp=stamp), stamp))


def test_v3_timestamp_just_inside_the_window_is_accepted() -> None:
    stamp = str(int((NOW - 299) * 1000))
    assert verify(v3_headers(sdk("v3", timestamp=stamp), stamp)) == "v3"


@pytest.mark.parametrize("stamp", ["", "abc", "1.5e12"])
def test_v3_bad_timestamp_header_is_refused(stamp: str) -> None:
    with pytest.raises(SignatureError, match="timestamp"):
        verify(v3_headers(sdk("v3", timestamp=stamp), stamp))


def test_v3_signature_over_another_uri_is_refused() -> None:
    signature = sdk("v3", uri="https://hooks.example.com/webhooks/hubspot?tenant=other")
    with pytest.raises(SignatureError, match="does not match"):
        verify(v3_headers(signature))


def test_v3_signature_with_another_secret_is_refused() -> None:
    signature = Signature.get_signature("other", BODY.decode(), "v3", URI, "POST", STAMP)
    with pytest.raises(SignatureError, match="does not match"):
        verify(v3_headers(signature))


def test_wrong_v3_never_falls_back_to_a_valid_v1() -> None:
    headers = HubSpotHeaders("bm9wZQ==", STAMP, sdk("v1", timestamp=None), "v1")
    with pytest.raises(SignatureError, match="v3"):
        verify(headers)


def test_missing_secret_refuses_everything() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        verify_hubspot(
            v3_headers(sdk("v3")), secret="", versions=ALL, method="POST", uri=URI, body=BODY, now=NOW
        )


def test_percent_encoded_uri_also_matches_its_decoded_form() -> None:
    encoded = "https://hooks.example.com/webhooks/hubspot?next=%2Fa%3Ab"
    assert hubspot_uri_variants(encoded) == [encoded, "https://hooks.example.com/webhooks/hubspot?next=/a:b"]
    decoded_signature = sdk("v3", uri="https://hooks.example.com/webhooks/hubspot?next=/a:b")
    assert verify(v3_headers(decoded_signature), uri=encoded) == "v3"


def test_baton_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert baton_signature("k", "1700000000", BODY) == f"sha256={expected}"


def test_baton_signature_verifies_and_detects_tampering() -> None:
    stamp = str(int(NOW))
    signature = baton_signature("k", stamp, BODY)
    verify_baton(signature, stamp, secret="k", body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify_baton(signature, stamp, secret="k", body=BODY + b" ", now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify_baton(signature, str(int(NOW) + 1), secret="k", body=BODY, now=NOW)
    with pytest.raises(SignatureError, match="window"):
        verify_baton(signature, stamp, secret="k", body=BODY, now=NOW + 301)


def test_non_ascii_signature_header_is_refused_not_crashed() -> None:
    with pytest.raises(SignatureError):
        verify(v3_headers("é" * 44))
