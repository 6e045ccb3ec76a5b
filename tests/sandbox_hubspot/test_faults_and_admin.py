"""Fault injection, rate-limit headers, auth, counters and the admin endpoints."""
from __future__ import annotations

import json

import pytest
import urllib3
from hubspot.crm.contacts import ApiException
from hubspot.crm.contacts.exceptions import ServiceException, UnauthorizedException
from urllib3.util.retry import Retry

from tests.sandbox_hubspot.support import Portal, contact_ids

RATE_HEADERS = ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining",
                "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Max",
                "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Secondly",
                "X-HubSpot-RateLimit-Secondly-Remaining")


def test_wrong_token_is_401_with_hubspot_body(portal: Portal) -> None:
    with pytest.raises(UnauthorizedException) as raised:
        portal.sdk(token="pat-na1-wrong").crm.contacts.basic_api.get_page()
    body = json.loads(raised.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION" and "Authentication credentials not found" in body["message"]


def test_every_api_response_carries_the_rate_limit_headers(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"interval_max": 50})
    _, _, headers = portal.sdk().crm.contacts.basic_api.get_page_with_http_info()
    assert all(name in headers for name in RATE_HEADERS)
    assert headers["X-HubSpot-RateLimit-Max"] == "50" and headers["X-HubSpot-RateLimit-Remaining"] == "49"


def test_ten_secondly_limit_answers_429_without_retry_after(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"interval_max": 2})
    api = portal.sdk().crm.contacts.basic_api
    api.get_page()
    api.get_page()
    with pytest.raises(ApiException) as raised:
        api.get_page()
    assert raised.value.status == 429 and "Retry-After" not in raised.value.headers
    assert json.loads(raised.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"


@pytest.mark.parametrize("retry_after", [2, None])
def test_injected_429_with_retry_after_on_and_off(portal: Portal, retry_after: int | None) -> None:
    portal.admin("PUT", "faults", {"rate_limit_next": 1, "retry_after_s": retry_after})
    with pytest.raises(ApiException) as raised:
        portal.sdk().crm.contacts.batch_api.update({"inputs": []})
    assert raised.value.status == 429
    assert raised.value.headers.get("Retry-After") == (None if retry_after is None else "2")


def test_sdk_default_retries_repeat_a_get_that_got_retry_after(portal: Portal) -> None:
    """The pitfall the connector avoids: urllib3's default Retry(3) re-sends GETs after Retry-After."""
    portal.admin("PUT", "faults", {"rate_limit_next": 2, "retry_after_s": 0})
    page = portal.sdk(hidden_retries=True).crm.contacts.basic_api.get_page()   # succeeds on the 3rd try
    assert page.results
    assert portal.admin("GET", "counters")["calls"]["GET /crm/v3/objects/contacts"] == 3


def test_server_error_and_timeout_faults(portal: Portal) -> None:
    portal.admin("PUT", "faults", {"server_error_next": 1})
    with pytest.raises(ServiceException):
        portal.sdk().crm.contacts.basic_api.get_page()
    portal.admin("PUT", "faults", {"timeout_next": 1, "timeout_s": 0.6})
    with pytest.raises(urllib3.exceptions.HTTPError):
        portal.sdk().crm.contacts.basic_api.get_page(_request_timeout=(1, 0.2))


def test_fail_records_become_per_input_validation_errors(portal: Portal) -> None:
    ids = contact_ids(portal, 30)[20:23]
    portal.admin("PUT", "faults", {"fail_records": {ids[1]: "Injected: record locked by a workflow"}})
    response = portal.sdk().crm.contacts.batch_api.update(
        {"inputs": [{"id": i, "properties": {"web_visits": "9"}} for i in ids]})
    assert [e.context["ids"] for e in response.errors] == [[ids[1]]]
    assert response.errors[0].category == "VALIDATION_ERROR" and len(response.results) == 2


def test_edit_after_read_changes_the_record_right_after_serving_it(portal: Portal) -> None:
    record_id = contact_ids(portal, 31)[30]
    portal.admin("PUT", "faults", {"edit_after_read": [{"object": "contacts", "id": record_id,
                                                        "properties": {"jobtitle": "Edited elsewhere"}}]})
    api = portal.sdk().crm.contacts.basic_api
    served = api.get_by_id(record_id, properties=["jobtitle"])
    assert served.properties["jobtitle"] != "Edited elsewhere"
    assert api.get_by_id(record_id, properties=["jobtitle"]).properties["jobtitle"] == "Edited elsewhere"
    assert portal.admin("GET", "faults")["edit_after_read"] == []


def test_counters_count_every_call_per_endpoint_and_reset(portal: Portal) -> None:
    sdk = portal.sdk()
    sdk.crm.contacts.basic_api.get_page(limit=7)
    sdk.crm.deals.basic_api.get_by_id(str(next(iter(portal.sandbox.store.tables["deals"].records))))
    with pytest.raises(UnauthorizedException):
        portal.sdk(token="bad").crm.contacts.basic_api.get_page()
    counters = portal.admin("GET", "counters")
    assert counters["calls"] == {"GET /crm/v3/objects/contacts": 2, "GET /crm/v3/objects/deals/{id}": 1}
    assert counters["records"]["GET /crm/v3/objects/contacts"] == 7
    assert portal.admin("DELETE", "counters")["total_calls"] == 0


def test_touch_gives_records_one_timestamp_and_records_lists_them(portal: Portal) -> None:
    ids = contact_ids(portal, 40)[35:40]
    touched = portal.admin("POST", "touch", {"object": "contacts", "ids": ids, "modified": "2026-10-01T00:00:00Z"})
    assert touched == {"touched": 5, "modified": "2026-10-01T00:00:00.000Z"}
    listed = {r["id"]: r for r in portal.admin("GET", "records/contacts")["results"]}
    assert {listed[i]["properties"]["lastmodifieddate"] for i in ids} == {"2026-10-01T00:00:00.000Z"}


def test_bad_admin_input_is_a_clear_400(portal: Portal) -> None:
    response = portal.http("PUT", "/_sandbox/faults", json={"rate_limit_nxt": 1})
    assert response.status_code == 400 and "rate_limit_nxt" in response.json()["error"]


def test_change_listeners_receive_committed_writes(portal: Portal) -> None:
    events = []
    portal.sandbox.store.add_listener(events.append)
    record_id = contact_ids(portal, 42)[41]
    portal.sdk().crm.contacts.batch_api.update({"inputs": [{"id": record_id, "properties": {"web_visits": "99"}}]})
    assert [(e.record_id, e.kind, e.changes) for e in events] == [(record_id, "propertyChange", {"web_visits": "99"})]


def test_no_retry_client_sends_exactly_one_request(portal: Portal) -> None:
    portal.admin("PUT", "faults", {"rate_limit_next": 1, "retry_after_s": 0})
    with pytest.raises(ApiException):
        portal.sdk().crm.contacts.basic_api.get_page()
    assert portal.admin("GET", "counters")["total_calls"] == 1
    assert Retry  # the retry-free client is built in support.Portal.sdk
