"""Batch endpoints (200/201/207) and search (operators, limits, the 10,000 cap) through the real SDK."""
from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest
from hubspot.crm.deals import ApiException as DealsApiException

from tests.sandbox_hubspot.support import Portal, contact_ids


def _search(portal: Portal, *filters: dict, **kwargs: object):
    request = PublicObjectSearchRequest(filter_groups=[{"filters": list(filters)}] if filters else [], **kwargs)
    return portal.sdk().crm.contacts.search_api.do_search(request)


def test_batch_read_reports_missing_ids_as_207_object_not_found(portal: Portal) -> None:
    ids = contact_ids(portal, 2)
    response = portal.sdk().crm.contacts.batch_api.read(
        {"inputs": [{"id": ids[0]}, {"id": ids[1]}, {"id": "424242"}], "properties": ["email"],
         "propertiesWithHistory": []})
    assert type(response).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert sorted(r.id for r in response.results) == sorted(ids)
    assert response.errors[0].category == "OBJECT_NOT_FOUND" and response.errors[0].context == {"ids": ["424242"]}


def test_batch_update_writes_good_inputs_and_reports_bad_ones_in_a_207(portal: Portal) -> None:
    ids = contact_ids(portal, 12)[10:12]
    response = portal.sdk().crm.contacts.batch_api.update({"inputs": [
        {"id": ids[0], "properties": {"segment": "galactic"}}, {"id": ids[1], "properties": {"baton_score": "77"}}]})
    assert response.num_errors == 1 and response.errors[0].category == "VALIDATION_ERROR"
    assert response.errors[0].context["ids"] == [ids[0]] and response.errors[0].errors[0].code == "INVALID_OPTION"
    assert [r.id for r in response.results] == [ids[1]]
    assert portal.sandbox.store.get("contacts", ids[1]).properties["baton_score"] == "77"


def test_batch_update_all_good_is_200_and_over_100_inputs_is_400(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.batch_api
    ok = api.update({"inputs": [{"id": i, "properties": {"web_visits": 3}} for i in contact_ids(portal, 3)]})
    assert type(ok).__name__ == "BatchResponseSimplePublicObject" and len(ok.results) == 3
    with pytest.raises(ApiException) as raised:
        api.update({"inputs": [{"id": str(i), "properties": {}} for i in range(101)]})
    assert raised.value.status == 400


def test_batch_create_is_all_or_nothing_without_trace_ids_and_207_with_them(portal: Portal) -> None:
    api = portal.sdk().crm.deals.batch_api
    good = {"dealname": "A", "dealstage": "qualifiedtobuy", "pipeline": "default"}
    bad = {"dealname": "B", "dealstage": "nosuchstage"}
    before = len(portal.sandbox.store.tables["deals"].records)
    with pytest.raises(DealsApiException) as raised:     # each SDK module has its own exception class
        api.create({"inputs": [{"properties": good}, {"properties": bad}]})
    assert raised.value.status == 400 and len(portal.sandbox.store.tables["deals"].records) == before
    created = api.create({"inputs": [{"properties": good, "objectWriteTraceId": "t1"},
                                     {"properties": bad, "objectWriteTraceId": "t2"}]})
    assert len(created.results) == 1 and created.errors[0].context["ids"] == ["t2"]
    assert created.results[0].properties["dealstage"] == "qualifiedtobuy"


def test_search_operators(portal: Portal) -> None:
    store = portal.sandbox.store.tables["contacts"].records.values()
    leads = [r for r in store if r.properties.get("lifecyclestage") == "lead"]
    found = _search(portal, {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}, limit=200)
    assert found.total == len(leads)
    not_leads = _search(portal, {"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"}, limit=1)
    assert not_leads.total == len(store) - len(leads)
    in_two = _search(portal, {"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead", "subscriber"]})
    assert in_two.total == sum(r.properties.get("lifecyclestage") in ("lead", "subscriber") for r in store)
    not_in = _search(portal, {"propertyName": "lifecyclestage", "operator": "NOT_IN", "values": ["lead"]})
    assert not_in.total == len(store) - len(leads)
    busy = _search(portal, {"propertyName": "web_visits", "operator": "GTE", "value": "10"},
                   {"propertyName": "web_visits", "operator": "LT", "value": "20"})
    assert busy.total == sum(10 <= float(r.properties.get("web_visits") or -1) < 20 for r in store)
    between = _search(portal, {"propertyName": "web_visits", "operator": "BETWEEN", "value": "10", "highValue": "19"})
    assert between.total == busy.total
    has_status = _search(portal, {"propertyName": "hs_lead_status", "operator": "HAS_PROPERTY"})
    lacks = _search(portal, {"propertyName": "hs_lead_status", "operator": "NOT_HAS_PROPERTY"})
    assert has_status.total + lacks.total == len(store) and has_status.total > 0
    first = next(iter(store))
    token = first.properties["email"].split("@")[0]
    assert _search(portal, {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": token}).total >= 1


def test_filter_groups_are_ored_and_sorts_and_paging_work(portal: Portal) -> None:
    request = PublicObjectSearchRequest(filter_groups=[
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "subscriber"}]},
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "other"}]}],
        sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}], limit=3, properties=["lifecyclestage"])
    page = portal.sdk().crm.contacts.search_api.do_search(request)
    assert {r.properties["lifecyclestage"] for r in page.results} <= {"subscriber", "other"}
    created = [r.properties["createdate"] for r in page.results]
    assert created == sorted(created, reverse=True) and page.paging.next.after == "3"


def test_search_limits_are_enforced_with_hubspot_error_bodies(portal: Portal) -> None:
    too_many_groups = [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6
    with pytest.raises(ApiException) as groups:
        portal.sdk().crm.contacts.search_api.do_search(PublicObjectSearchRequest(filter_groups=too_many_groups))
    with pytest.raises(ApiException) as limit:
        _search(portal, limit=201)
    with pytest.raises(ApiException) as cap:
        _search(portal, limit=200, after="9900")
    assert groups.value.status == limit.value.status == cap.value.status == 400
    body = json.loads(cap.value.body)
    assert body["category"] == "VALIDATION_ERROR" and body["status"] == "error" and body["correlationId"]
    assert _search(portal, limit=200, after="9800").results == []      # exactly at the cap is allowed


def test_search_has_its_own_per_second_limit(portal: Portal) -> None:
    portal.admin("PUT", "limits", {"search_per_second": 2})
    _search(portal)
    _search(portal)
    with pytest.raises(ApiException) as raised:
        _search(portal)
    body = json.loads(raised.value.body)
    assert raised.value.status == 429 and body["policyName"] == "SECONDLY" and body["errorType"] == "RATE_LIMIT"
    portal.sdk().crm.contacts.basic_api.get_page()     # other endpoints are not limited by it
