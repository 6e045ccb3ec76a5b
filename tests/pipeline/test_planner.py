"""The write planner: only differing values are written, and a person's changes are held back."""
from __future__ import annotations

import datetime as dt

import pytest

from app.pipeline.planner import Hold, PlanInput, Planner
from app.pipeline.translate import engine_input
from app.pipeline.values import same_value
from connectors.records import Crm, Record, RecordKind
from rules.load import the_model
from rules.pyengine import PythonEngine

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
SF_LEAD_MAP = {"score": "Lead_Score__c", "recycle_count": "Recycle_Count__c", "recycle_reason": "Recycle_Reason__c",
               "stage_changed_date": "Status_Changed_Date__c", "stage": "Status"}
HS_CONTACT_MAP = {"score": "baton_score", "recycle_count": "baton_recycle_count",
                  "recycle_reason": "baton_recycle_reason", "stage_changed_date": "stage_changed_date",
                  "stage": "lifecyclestage"}


@pytest.fixture(scope="module")
def ruleset():
    return the_model()


def _lead(crm: Crm, raw: dict, **fields) -> Record:
    base = {"email_clicks": 0, "web_visits": 0, "product_page_visits": 0, "seminar_attended": False,
            "catalogue_requested": False, "inquiry": False, "no_response": False,
            "last_activity_date": dt.date(2026, 10, 30), "stage_changed_date": dt.date(2026, 10, 1),
            "recycle_count": 0, "company_size": 50, "industry": "Retail", "title": "Analyst",
            "email": "a@example.com"}
    base.update(fields)
    return Record(crm=crm, object="Lead" if crm is Crm.SALESFORCE else "contacts", kind=RecordKind.LEAD,
                  id="R1", modified_at=NOW, fields=base, raw=raw)


def _plan(ruleset, crm, record, field_map, **kwargs):
    decision = PythonEngine(ruleset).evaluate("lead", [engine_input(ruleset, "lead", record)], NOW.date())[0]
    planner = Planner(ruleset, "lead", crm.value, field_map)
    return decision, planner.plan(PlanInput(record, decision, **kwargs), NOW)


def test_catalogue_request_qualifies_and_writes_only_differing_fields(ruleset):
    record = _lead(Crm.SALESFORCE, {"Status": "Nurturing", "Lead_Score__c": None, "Recycle_Count__c": 0},
                   catalogue_requested=True)
    decision, plan = _plan(ruleset, Crm.SALESFORCE, record, SF_LEAD_MAP)
    assert decision.to_stage == "qualified"
    assert plan.changes["Status"] == "Qualified"
    assert "Recycle_Count__c" not in plan.changes          # 0 == 0: unchanged, not written
    assert plan.canonical_changes["stage"] == {"from": "nurturing", "to": "qualified"}
    assert not plan.held_back


def test_nothing_to_write_when_the_crm_already_agrees(ruleset):
    record = _lead(Crm.SALESFORCE, {"Status": "Nurturing"}, email_clicks=1)
    decision, first = _plan(ruleset, Crm.SALESFORCE, record, SF_LEAD_MAP)
    applied = {**record.raw, **first.changes}
    again = _lead(Crm.SALESFORCE, applied, email_clicks=1)
    _, second = _plan(ruleset, Crm.SALESFORCE, again, SF_LEAD_MAP)
    assert first.has_changes and not second.has_changes


def test_hubspot_strings_compare_equal_to_numbers(ruleset):
    record = _lead(Crm.HUBSPOT, {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS"}, email_clicks=1)
    _, plan = _plan(ruleset, Crm.HUBSPOT, record, HS_CONTACT_MAP)
    score = plan.changes["baton_score"]
    record2 = _lead(Crm.HUBSPOT, {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS",
                                  "baton_score": str(score), "baton_recycle_count": "0"}, email_clicks=1)
    _, plan2 = _plan(ruleset, Crm.HUBSPOT, record2, HS_CONTACT_MAP)
    assert "baton_score" not in plan2.changes


def test_recycle_on_hubspot_writes_both_stage_properties(ruleset):
    record = _lead(Crm.HUBSPOT, {"lifecyclestage": "marketingqualifiedlead"},
                   no_response=True, stage_changed_date=dt.date(2026, 8, 1))
    decision, plan = _plan(ruleset, Crm.HUBSPOT, record, HS_CONTACT_MAP)
    assert decision.kind == "recycle" and decision.to_stage == "nurturing"
    assert plan.changes["lifecyclestage"] == "lead" and plan.changes["hs_lead_status"] == "IN_PROGRESS"
    assert plan.changes["baton_recycle_count"] == 1


def test_manual_stage_change_after_baton_wrote_is_held_back(ruleset):
    # Baton wrote Qualified; a rep moved the lead back to Nurturing; the rules still say qualified.
    record = _lead(Crm.SALESFORCE, {"Status": "Nurturing", "Lead_Score__c": 0}, catalogue_requested=True)
    decision, plan = _plan(ruleset, Crm.SALESFORCE, record, SF_LEAD_MAP,
                           last_written={"Status": "Qualified"})
    assert decision.to_stage == "qualified"
    assert "Status" in plan.held_fields and "Status" not in plan.changes
    assert "Status_Changed_Date__c" not in plan.changes    # follows the stage: held with it
    assert "Lead_Score__c" in plan.changes                  # the score is not the rep's: still written
    (hold,) = plan.new_holds
    assert hold.field == "Status" and hold.observed_value == "Nurturing"
    assert hold.held_until == NOW + dt.timedelta(days=7)
    assert "changed by hand" in plan.hold_reason


def test_running_hold_keeps_holding_without_a_new_hold(ruleset):
    record = _lead(Crm.SALESFORCE, {"Status": "Nurturing"}, catalogue_requested=True)
    running = Hold("Status", "Nurturing", NOW + dt.timedelta(days=3), "held by a rep")
    _, plan = _plan(ruleset, Crm.SALESFORCE, record, SF_LEAD_MAP,
                    last_written={"Status": "Nurturing"}, active_holds={"Status": running})
    assert "Status" in plan.held_fields
    assert plan.new_holds == () and plan.hold_reason == "held by a rep"


def test_after_the_hold_baton_writes_again(ruleset):
    # The hold expired and the baseline is the rep's value: Baton applies the rules again.
    record = _lead(Crm.SALESFORCE, {"Status": "Nurturing"}, catalogue_requested=True)
    _, plan = _plan(ruleset, Crm.SALESFORCE, record, SF_LEAD_MAP, last_written={"Status": "Nurturing"},
                    active_holds={"Status": Hold("Status", "Nurturing", NOW - dt.timedelta(seconds=1), "old")})
    assert plan.changes["Status"] == "Qualified" and not plan.held_back


@pytest.mark.parametrize("left,right,equal", [
    (100, "100", True), (100.0, "100", True), (True, "true", True), (False, "false", True),
    (None, "", True), (dt.date(2026, 11, 1), "2026-11-01", True), ("Nurturing", "Qualified", False),
    (0, None, False), ("abc", "ABC", False),
])
def test_same_value_across_wire_formats(left, right, equal):
    assert same_value(left, right) is equal
