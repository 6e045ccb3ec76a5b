"""Objects API of the HubSpot sandbox through the real SDK: paging, get, create, update, archive."""
from __future__ import annotations

import json
import re

import pytest
from hubspot.crm.contacts import ApiException, SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import NotFoundException

from tests.sandbox_hubspot.support import Portal, contact_ids

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_list_pages_follow_after_until_the_last_page_has_no_paging(portal: Portal) -> None:
    api = portal.sdk().crm.companies.basic_api
    first = api.get_page(archived=False)
    assert len(first.results) == 10                       # default limit
    assert isinstance(first.paging.next.after, str)
    seen, after = [], None
    while True:
        page = api.get_page(limit=5, after=after, properties=["name"]) if after else api.get_page(limit=5)
        seen.extend(r.id for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == len(set(seen)) == len(portal.sandbox.store.tables["companies"].records)


def test_list_limit_above_100_is_rejected(portal: Portal) -> None:
    with pytest.raises(ApiException) as raised:
        portal.sdk().crm.contacts.basic_api.get_page(limit=101)
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["category"] == "VALIDATION_ERROR"


def test_properties_repeated_or_comma_separated_and_always_present_ones(portal: Portal) -> None:
    record_id = contact_ids(portal, 1)[0]
    repeated = portal.http("GET", f"/crm/v3/objects/contacts/{record_id}?properties=email&properties=jobtitle"
                                  "&archived=False").json()
    comma = portal.http("GET", f"/crm/v3/objects/contacts/{record_id}?properties=email,jobtitle").json()
    assert repeated["properties"] == comma["properties"]
    assert set(comma["properties"]) == {"email", "jobtitle", "hs_object_id", "createdate", "lastmodifieddate"}
    assert comma["properties"]["hs_object_id"] == record_id
    assert ISO_MS.match(comma["properties"]["lastmodifieddate"]) and ISO_MS.match(comma["updatedAt"])


def test_unknown_id_is_404_object_not_found(portal: Portal) -> None:
    with pytest.raises(NotFoundException) as raised:
        portal.sdk().crm.contacts.basic_api.get_by_id("999999999")
    body = json.loads(raised.value.body)
    assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND" and body["correlationId"]


def test_create_then_update_bumps_the_modified_date_and_nulls_unset_values(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    created = api.create(SimplePublicObjectInputForCreate(properties={"email": "new.person@x.example",
                                                                      "lifecyclestage": "lead"}))
    assert created.id.isdigit() and created.properties["lifecyclestage"] == "lead"
    updated = api.update(created.id, SimplePublicObjectInput(properties={"jobtitle": "CTO"}))
    assert updated.properties["lastmodifieddate"] >= created.properties["lastmodifieddate"]
    fetched = api.get_by_id(created.id, properties=["jobtitle", "hs_lead_status"])
    assert fetched.properties["jobtitle"] == "CTO" and fetched.properties["hs_lead_status"] is None


def test_duplicate_email_is_409_conflict(portal: Portal) -> None:
    existing = portal.sandbox.store.tables["contacts"].records[int(contact_ids(portal, 1)[0])]
    with pytest.raises(ApiException) as raised:
        portal.sdk().crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": existing.properties["email"].upper()}))
    assert raised.value.status == 409
    assert f"Existing ID: {existing.id}" in json.loads(raised.value.body)["message"]


def test_archive_is_204_and_the_record_moves_to_the_archived_list(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    created = api.create(SimplePublicObjectInputForCreate(properties={"email": "gone@x.example"}))
    assert api.archive(created.id) is None
    with pytest.raises(NotFoundException):
        api.get_by_id(created.id)
    archived = api.get_page(archived=True, limit=100)
    match = [r for r in archived.results if r.id == created.id]
    assert match and match[0].archived is True and match[0].archived_at is not None


def test_invalid_enumeration_and_not_midnight_date_are_validation_errors(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    record_id = contact_ids(portal, 2)[1]
    with pytest.raises(ApiException) as raised:
        api.update(record_id, SimplePublicObjectInput(properties={"segment": "mid-market",
                                                                  "last_activity_date": "2026-01-02T10:00:00Z"}))
    body = json.loads(raised.value.body)
    assert raised.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert {e["code"] for e in body["errors"]} == {"INVALID_OPTION", "INVALID_DATE"}
    assert body["message"].startswith("Property values were not valid:")


def test_read_only_and_unknown_properties_are_refused(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    with pytest.raises(ApiException) as raised:
        api.update(contact_ids(portal, 3)[2], SimplePublicObjectInput(properties={"hubspotscore": "5", "nope": "x"}))
    assert {e["code"] for e in json.loads(raised.value.body)["errors"]} == {"READ_ONLY_VALUE", "PROPERTY_DOESNT_EXIST"}


def test_updating_to_an_email_in_use_is_a_per_input_conflict(portal: Portal) -> None:
    first, second = contact_ids(portal, 60)[58:60]
    taken = portal.sandbox.store.get("contacts", first).properties["email"]
    response = portal.sdk().crm.contacts.batch_api.update({"inputs": [
        {"id": second, "properties": {"email": taken}}, {"id": first, "properties": {"email": taken}}]})
    assert [(e.category, e.context["ids"]) for e in response.errors] == [("CONFLICT", [second])]
    assert [r.id for r in response.results] == [first]
