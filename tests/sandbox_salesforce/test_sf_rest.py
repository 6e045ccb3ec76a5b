"""The sandbox on the wire, driven by the real simple-salesforce SDK over HTTPS (no mocks)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import SalesforceLogin

from tests.sandbox_salesforce.support import LiveSandbox

MS_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.content[0]["errorCode"]


def test_query_pages_follow_next_records_url_with_batch_size(live: LiveSandbox) -> None:
    sf = live.sdk()
    first = sf.query("SELECT Id FROM Lead ORDER BY Id", headers=BATCH_200)
    assert (first["totalSize"], first["done"], len(first["records"])) == (300, False, 200)
    assert re.match(r"^/services/data/v59\.0/query/01g\w+-200$", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=BATCH_200)
    assert (second["done"], len(second["records"]), "nextRecordsUrl" in second) == (True, 100, False)
    ids = [r["Id"] for r in first["records"] + second["records"]]
    assert ids == sorted(ids) and len(set(ids)) == 300
    assert first["records"][0]["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{ids[0]}"}


def test_batch_size_is_clamped_to_at_least_200_and_defaults_to_2000(live: LiveSandbox) -> None:
    sf = live.sdk()
    assert len(sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=10"})["records"]) == 200
    assert sf.query("SELECT Id FROM Lead")["done"] is True   # 300 < 2000


def test_bad_query_locator(live: LiveSandbox) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        live.sdk().query_more("/services/data/v59.0/query/01gNOPE-200", identifier_is_url=True)
    assert error_code(caught) == "INVALID_QUERY_LOCATOR"


def test_malformed_query_and_invalid_field_bodies(live: LiveSandbox) -> None:
    sf = live.sdk()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Lead WHERE")
    assert caught.value.status == 400 and error_code(caught) == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Bogus__c FROM Lead")
    assert error_code(caught) == "INVALID_FIELD"


def test_query_all_returns_deleted_records_and_query_does_not(live: LiveSandbox) -> None:
    sf = live.sdk()
    victim = live.ids("Lead")[5]
    assert sf.Lead.delete(victim) == 204
    assert sf.query(f"SELECT Id FROM Lead WHERE Id = '{victim}'")["totalSize"] == 0
    rows = sf.query_all(f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{victim}'", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(victim, True)]
    now = dt.datetime.now(dt.UTC)
    deleted = sf.Lead.deleted(now - dt.timedelta(minutes=5), now + dt.timedelta(minutes=1))
    assert [d["id"] for d in deleted["deletedRecords"]] == [victim]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get(victim)
    assert error_code(caught) == "ENTITY_IS_DELETED"


def test_create_update_delete_statuses_and_bodies(live: LiveSandbox) -> None:
    sf = live.sdk()
    created = sf.Lead.create({"LastName": "Ito", "Company": "Zen Labs", "Email": "ito@zen.example.com"})
    assert set(created) == {"id", "success", "errors"} and created["success"] and created["id"].startswith("00Q")
    assert len(created["id"]) == 18
    record = sf.Lead.get(created["id"])
    assert (record["Status"], record["Name"], record["IsConverted"]) == ("Awareness", "Ito", False)
    assert MS_STAMP.match(record["SystemModstamp"]) and record["CreatedDate"] == record["SystemModstamp"]
    response = sf.Lead.update(created["id"], {"Title": "CTO"}, raw_response=True)
    assert response.status_code == 204 and response.content == b"" and "Content-Type" not in response.headers
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get("00Q5g0000000zzzZZZ")
    assert error_code(caught) == "NOT_FOUND"


def test_upsert_by_external_id_creates_then_updates(live: LiveSandbox) -> None:
    sf = live.sdk()
    response = sf.Lead.upsert("External_Id__c/ext 1", {"LastName": "Kato", "Company": "Iron"}, raw_response=True)
    assert response.status_code == 201 and response.json()["created"] is True
    response = sf.Lead.upsert("External_Id__c/ext 1", {"Title": "VP Sales"}, raw_response=True)
    assert response.status_code == 200 and response.json()["created"] is False
    assert sf.Lead.get_by_custom_id("External_Id__c", "ext 1")["Title"] == "VP Sales"


@pytest.mark.parametrize("data, code, fields", [
    ({"Company": "No Name Inc"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"LastName": "A", "Company": "B", "Status": "Open - Not Contacted"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     ["Status"]),
    ({"LastName": "A", "Company": "B", "IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
    ({"LastName": "A", "Company": "B", "Status": "Converted"}, "FIELD_INTEGRITY_EXCEPTION", ["Status"]),
    ({"LastName": "A", "Company": "B", "Nope__c": 1}, "INVALID_FIELD", ["Nope__c"]),
    ({"LastName": "A", "Company": "B", "Web_Visits__c": "many"}, "INVALID_TYPE_ON_FIELD_IN_RECORD", ["Web_Visits__c"]),
])
def test_create_is_refused_with_the_real_error_codes(live: LiveSandbox, data: dict, code: str, fields: list) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        live.sdk().Lead.create(data)
    assert caught.value.content == [{"message": caught.value.content[0]["message"], "errorCode": code,
                                     "fields": fields}]


def test_converted_leads_are_read_only(live: LiveSandbox) -> None:
    sf = live.sdk()
    converted = sf.query("SELECT Id FROM Lead WHERE IsConverted = true LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.update(converted, {"Lead_Score__c": 10})
    assert error_code(caught) == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_opportunity_fields_derive_from_the_stage(live: LiveSandbox) -> None:
    sf = live.sdk()
    account = live.ids("Account")[0]
    oid = sf.Opportunity.create({"Name": "Pilot", "StageName": "Phase 3 - Evaluation", "CloseDate": "2026-12-31",
                                 "AccountId": account})["id"]
    opp = sf.Opportunity.get(oid)
    assert (opp["Probability"], opp["ForecastCategoryName"], opp["IsClosed"], opp["IsWon"]) == (30, "Best Case",
                                                                                                False, False)
    first_change = opp["LastStageChangeDate"]
    sf.Opportunity.update(oid, {"StageName": "Closed Won"})
    opp = sf.Opportunity.get(oid)
    assert (opp["Probability"], opp["ForecastCategoryName"], opp["IsClosed"], opp["IsWon"]) == (100, "Closed", True, True)
    assert opp["LastStageChangeDate"] > first_change
    sf.Opportunity.update(oid, {"StageName": "Phase 4 - Negotiation", "Probability": 40})
    assert sf.Opportunity.get(oid)["Probability"] == 40          # explicit in the same write wins
    sf.Opportunity.update(oid, {"Amount": 1000})
    opp = sf.Opportunity.get(oid)
    assert (opp["Probability"], opp["IsClosed"]) == (40, False)  # no stage change: kept
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(oid, {"IsWon": True})
    assert error_code(caught) == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_every_write_bumps_system_modstamp_including_other_users(live: LiveSandbox) -> None:
    sf = live.sdk()
    lead_id = live.ids("Lead", "WHERE IsConverted = false")[0]
    before = sf.Lead.get(lead_id)["SystemModstamp"]
    sf.Lead.update(lead_id, {"Web_Visits__c": 3})
    mine = sf.Lead.get(lead_id)
    assert mine["SystemModstamp"] > before and mine["LastModifiedDate"] == mine["SystemModstamp"]
    live.admin("POST", "edit", {"object": "Lead", "id": lead_id, "fields": {"Status": "Qualified"}})
    theirs = sf.Lead.get(lead_id)
    assert theirs["SystemModstamp"] > mine["SystemModstamp"] and MS_STAMP.match(theirs["SystemModstamp"])
    assert theirs["LastModifiedById"] != mine["LastModifiedById"]
    assert theirs["Status_Changed_Date__c"] == dt.datetime.now(dt.UTC).date().isoformat()


def test_collections_partial_success_and_all_or_none(live: LiveSandbox) -> None:
    sf = live.sdk()
    a, b, c = live.ids("Lead", "WHERE IsConverted = false")[:3]
    records = [{"attributes": {"type": "Lead"}, "id": a, "Lead_Score__c": 50},
               {"attributes": {"type": "Lead"}, "id": b, "Status": "Hot"},
               {"attributes": {"type": "Lead"}, "id": c, "Lead_Score__c": 70}]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                     "message": "Lead Status: bad value for restricted picklist field: Hot",
                                     "fields": ["Status"]}]
    assert sf.Lead.get(a)["Lead_Score__c"] == 50
    records[0]["Lead_Score__c"] = 99
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
    assert sf.Lead.get(a)["Lead_Score__c"] == 50


def test_collections_create_delete_and_the_200_record_limit(live: LiveSandbox) -> None:
    sf = live.sdk()
    new = [{"attributes": {"type": "Account"}, "Name": f"Acme {i}"} for i in range(3)]
    created = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": new})
    ids = [r["id"] for r in created]
    assert all(r["success"] for r in created) and all(i.startswith("001") for i in ids)
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "false"})
    assert [r["id"] for r in deleted if r["success"]] == ids
    too_many = [{"attributes": {"type": "Lead"}, "id": "00Q5g0000000001AAA"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="PATCH", json={"records": too_many})
    assert error_code(caught) == "EXCEEDED_ID_LIMIT"


def test_describe_and_global_describe(live: LiveSandbox) -> None:
    sf = live.sdk()
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    status = fields["Status"]
    assert status["restrictedPicklist"] is True and status["type"] == "picklist"
    assert [v["value"] for v in status["picklistValues"]] == ["Awareness", "Lead Acquired", "Nurturing", "Qualified",
                                                              "Accepted", "Disqualified", "Converted"]
    assert fields["Lead_Score__c"]["custom"] is True and fields["IsConverted"]["updateable"] is False
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Opportunity", "LeadStatus", "OpportunityStage"} <= names


def test_limits_and_limit_info_header_count_each_call(live: LiveSandbox) -> None:
    sf = live.sdk()
    sf.query("SELECT Id FROM Account LIMIT 1")
    used = sf.api_usage["api-usage"].used
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert sf.api_usage["api-usage"].used == used + 1
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - used - 1


def test_daily_limit_exhausted_answers_request_limit_exceeded(live: LiveSandbox) -> None:
    live.admin("PUT", "limits", {"used": 50, "max": 50})
    with pytest.raises(SalesforceRefusedRequest) as caught:
        live.sdk().query("SELECT Id FROM Lead LIMIT 1")
    assert caught.value.status == 403 and error_code(caught) == "REQUEST_LIMIT_EXCEEDED"


def test_expired_session_is_a_401_list_body(live: LiveSandbox) -> None:
    live.admin("DELETE", "sessions")
    response = live.http.get(f"{live.url}/services/data/v59.0/limits/",
                             headers={"Authorization": f"Bearer {live.info['session_id']}"})
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceExpiredSession):
        live.sdk().limits()


def _login(live: LiveSandbox, **kwargs: str) -> tuple[str, str]:
    # The SDK's own login function, given the sandbox's URL as the scratch/login URL.
    return SalesforceLogin(session=live.http, scratch_url=live.url, **kwargs)


def test_soap_and_oauth_logins_issue_working_sessions(live: LiveSandbox) -> None:
    info = live.info
    session_id, instance = _login(live, username=info["username"], password=info["password"],
                                  security_token=info["security_token"])
    assert instance == live.url.removeprefix("https://")
    sf = Salesforce(instance_url=live.url, session_id=session_id, session=live.http)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 300
    token = live.http.post(f"{live.url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": info["consumer_key"], "client_secret": info["consumer_secret"],
        "username": info["username"], "password": info["password"]}).json()
    assert token["instance_url"] == live.url and token["token_type"] == "Bearer"


def test_bad_logins_are_refused(live: LiveSandbox) -> None:
    info = live.info
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        _login(live, username=info["username"], password="wrong", security_token=info["security_token"])
    assert caught.value.code == "INVALID_LOGIN"
    response = live.http.post(f"{live.url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": info["consumer_key"], "client_secret": info["consumer_secret"],
        "username": info["username"], "password": "wrong"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_injected_faults_render_in_salesforce_format(live: LiveSandbox) -> None:
    sf = live.sdk()
    live.admin("PUT", "faults", {"rate_limit_next": 1, "endpoints": ["query"]})
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Lead LIMIT 1")
    assert error_code(caught) == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1     # only the next one
    live.admin("PUT", "faults", {"server_error_next": 2})
    statuses = [live.http.get(f"{live.url}/services/data/v59.0/limits/",
                              headers={"Authorization": f"Bearer {live.info['session_id']}"}).status_code
                for _ in range(3)]
    assert statuses == [500, 503, 200]


def test_timeout_fault_drops_the_connection(live: LiveSandbox) -> None:
    live.admin("PUT", "faults", {"timeout_next": 1, "timeout_s": 0.5})
    with pytest.raises((requests.Timeout, requests.ConnectionError)):
        live.http.get(f"{live.url}/services/data/v59.0/limits/", timeout=0.2,
                      headers={"Authorization": f"Bearer {live.info['session_id']}"})


def test_lock_row_and_fail_records_in_collections(live: LiveSandbox) -> None:
    sf = live.sdk()
    a, b, c = live.ids("Lead", "WHERE IsConverted = false")[:3]
    live.admin("PUT", "faults", {"lock_row_next": 1, "fail_records": {c: "Score needs a reason"},
                                 "endpoints": ["composite/sobjects"]})
    records = [{"attributes": {"type": "Lead"}, "id": rid, "Lead_Score__c": 5} for rid in (a, b, c)]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["errors"][0]["statusCode"] if r["errors"] else "ok" for r in results] == [
        "UNABLE_TO_LOCK_ROW", "ok", "FIELD_CUSTOM_VALIDATION_EXCEPTION"]
    assert results[2]["errors"][0]["message"] == "Score needs a reason"
    assert sf.Lead.get(b)["Lead_Score__c"] == 5 and sf.Lead.get(a)["Lead_Score__c"] is None


def test_edit_after_read_changes_the_record_after_the_response(live: LiveSandbox) -> None:
    sf = live.sdk()
    lead_id = live.ids("Lead", "WHERE IsConverted = false AND Status != 'Qualified'")[0]
    live.admin("PUT", "faults", {"edit_after_read": [{"object": "Lead", "id": lead_id,
                                                      "fields": {"Status": "Qualified"}}]})
    served = sf.query(f"SELECT Status, SystemModstamp FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    assert served["Status"] != "Qualified"
    now = sf.Lead.get(lead_id)
    assert now["Status"] == "Qualified" and now["SystemModstamp"] > served["SystemModstamp"]
    assert live.admin("GET", "faults")["edit_after_read"] == []


def test_counters_count_api_calls_per_endpoint_but_not_admin_calls(live: LiveSandbox) -> None:
    sf = live.sdk()
    live.admin("DELETE", "counters")
    sf.query_all("SELECT Id FROM Lead", headers=BATCH_200)
    sf.Lead.describe()
    live.admin("GET", "records/Lead")
    counters = live.admin("GET", "counters")
    assert counters["calls"] == {"GET query": 1, "GET query/{locator}": 1, "GET sobjects/Lead/describe": 1}
    assert counters["records"]["GET query"] == 200 and counters["records"]["GET query/{locator}"] == 100


def test_touch_gives_records_one_identical_timestamp(live: LiveSandbox) -> None:
    ids = live.ids("Lead")[:40]
    stamp = live.admin("POST", "touch", {"object": "Lead", "ids": ids, "timestamp": "2026-11-20T10:00:00.000Z"})
    assert stamp == {"timestamp": "2026-11-20T10:00:00.000+0000", "count": 40}
    rows = live.sdk().query_all("SELECT Id FROM Lead WHERE SystemModstamp = 2026-11-20T10:00:00.000Z")["records"]
    assert sorted(r["Id"] for r in rows) == ids
