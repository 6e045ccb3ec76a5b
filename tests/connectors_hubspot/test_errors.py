"""Error mapping (one hierarchy over every SDK module), timeouts, rate-limit headers, no hidden retries."""
from __future__ import annotations

import pytest

from connectors.errors import AuthError, FatalError, RateLimited, RetriableError
from connectors.hubspot_errors import map_error
from connectors.records import FieldUpdate
from tests.connectors_hubspot.support import all_records, connector
from tests.sandbox_hubspot.support import Portal, contact_ids


@pytest.mark.parametrize("retry_after, expected", [(2, 2.0), (None, None)])
def test_429_maps_to_rate_limited_with_or_without_retry_after(portal: Portal, retry_after: int | None,
                                                              expected: float | None) -> None:
    portal.admin("PUT", "faults", {"rate_limit_next": 1, "retry_after_s": retry_after})
    with pytest.raises(RateLimited) as raised:
        connector(portal).write("deals", [FieldUpdate("deals", "9000001", {"amount": 5})])
    assert raised.value.retry_after == expected and raised.value.status == 429


def test_a_get_with_retry_after_is_not_retried_behind_baton_s_back(portal: Portal) -> None:
    portal.admin("PUT", "faults", {"rate_limit_next": 1, "retry_after_s": 0})
    hub = connector(portal)
    with pytest.raises(RateLimited):
        hub.deleted_since("contacts", None)                     # a GET: urllib3 would retry it by default
    assert portal.admin("GET", "counters")["total_calls"] == 1
    assert hub.ledger.snapshot()["delete_scan"]["calls"] == 1


def test_wrong_token_is_auth_error_without_the_token_in_the_message(portal: Portal) -> None:
    hub = connector(portal, access_token="pat-na1-secret-wrong")
    with pytest.raises(AuthError) as raised:
        all_records(hub.read_changed("companies", None))
    assert "secret" not in str(raised.value) and raised.value.status == 401


def test_server_errors_timeouts_and_refused_connections_are_retriable(portal: Portal) -> None:
    portal.admin("PUT", "faults", {"server_error_next": 1})
    with pytest.raises(RetriableError):
        connector(portal).fetch("deals", ["9000001"])
    portal.admin("PUT", "faults", {"timeout_next": 1, "timeout_s": 1.0})
    with pytest.raises(RetriableError):
        connector(portal, timeout_s=0.3).fetch("deals", ["9000001"])
    with pytest.raises(RetriableError):
        connector(portal, host="http://127.0.0.1:9").fetch("deals", ["9000001"])


def test_bad_request_is_fatal_and_unknown_objects_are_refused(portal: Portal) -> None:
    from hubspot.crm.deals import ApiException as DealsApiException
    with pytest.raises(DealsApiException) as raised:
        portal.sdk().crm.deals.basic_api.get_page(limit=101)          # a real 400 from the sandbox
    mapped = map_error(raised.value, "read")
    assert isinstance(mapped, FatalError) and mapped.code == "VALIDATION_ERROR"
    with pytest.raises(FatalError):
        connector(portal).write("tickets", [FieldUpdate("tickets", "1", {"subject": "x"})])


def test_search_limit_maps_to_rate_limited(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"search_per_second": 1})
    with pytest.raises(RateLimited) as raised:
        all_records(connector(portal, search_page_size=1).read_changed("companies", None))
    assert raised.value.code == "SECONDLY"


def test_rate_limit_headers_are_exposed_for_the_limiter(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"interval_max": 150})
    hub = connector(portal)
    hub.fetch("contacts", contact_ids(portal, 2))
    assert hub.rate_limit is not None
    assert (hub.rate_limit.max, hub.rate_limit.remaining, hub.rate_limit.interval_ms) == (150, 149, 10_000)


def test_client_side_pacing_keeps_searches_under_the_search_limit(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"search_per_second": 5})
    hub = connector(portal, search_per_second=4.0, search_page_size=20)
    records = all_records(hub.read_changed("contacts", None))     # 6 searches at 4/s against a 5/s limit
    assert len(records) == len(portal.sandbox.store.tables["contacts"].records)
    assert hub.ledger.snapshot()["read"]["calls"] == 6
