"""SeedData (CRM-neutral) -> the sandbox org's Accounts, Leads, Contacts and Opportunities.

Ids are assigned in seed order, so the same seed always gives the same 18-character ids. Converted
people become a converted Lead (read-only) plus the Contact it was converted into.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sandbox.salesforce.schema import LEAD_STATUSES, OPPORTUNITY_STAGES, STAGES_BY_NAME
from connectors.sandbox.salesforce.store import API_USER_ID, OrgStore, Row
from connectors.sandbox.salesforce.values import UTC, make_id, truncate_ms
from connectors.sandbox.seed import SeedCompany, SeedData, SeedDeal, SeedPerson

LEAD_STATUS_BY_STAGE = {
    "awareness": "Awareness", "lead_acquired": "Lead Acquired", "nurturing": "Nurturing", "qualified": "Qualified",
    "accepted": "Accepted", "disqualified": "Disqualified", "converted": "Converted",
}
OPPORTUNITY_STAGE_BY_PHASE = {
    "phase_1": "Phase 1 - Opportunity", "phase_2": "Phase 2 - Problem Recognised", "phase_3": "Phase 3 - Evaluation",
    "phase_4": "Phase 4 - Negotiation", "phase_5": "Phase 5 - Approval", "closed_won": "Closed Won",
    "closed_lost": "Closed Lost",
}
SEGMENT_VALUE = {"smb": "SMB", "enterprise": "Enterprise"}


def _system(record_id: str, created: dt.datetime, modified: dt.datetime) -> Row:
    created, modified = truncate_ms(created), truncate_ms(max(modified, created))
    return {"Id": record_id, "IsDeleted": False, "CreatedDate": created, "CreatedById": API_USER_ID,
            "LastModifiedDate": modified, "LastModifiedById": API_USER_ID, "SystemModstamp": modified,
            "OwnerId": API_USER_ID, "External_Id__c": None}


def _modified(now: dt.datetime, created: dt.datetime, day: dt.date, index: int) -> dt.datetime:
    """A deterministic last-modified time on ``day``, never before creation nor after ``now``."""
    stamp = dt.datetime.combine(day, dt.time(9), UTC) + dt.timedelta(milliseconds=(index * 7919) % 28_800_000)
    return min(now - dt.timedelta(minutes=1), max(created, stamp))


def seed_metadata(store: OrgStore, now: dt.datetime) -> None:
    for order, (label, converted, default) in enumerate(LEAD_STATUSES, start=1):
        store.put("LeadStatus", {"Id": make_id("01J", order), "MasterLabel": label, "ApiName": label,
                                 "IsConverted": converted, "IsDefault": default, "SortOrder": order,
                                 "IsDeleted": False, "SystemModstamp": truncate_ms(now)})
    for order, stage in enumerate(OPPORTUNITY_STAGES, start=1):
        store.put("OpportunityStage", {
            "Id": make_id("01J", 100 + order), "MasterLabel": stage.name, "ApiName": stage.name,
            "DefaultProbability": float(stage.probability), "IsClosed": stage.is_closed, "IsWon": stage.is_won,
            "IsActive": True, "ForecastCategory": stage.forecast_category,
            "ForecastCategoryName": stage.forecast_category_name, "SortOrder": order, "IsDeleted": False,
            "SystemModstamp": truncate_ms(now)})


def seed(store: OrgStore, data: SeedData) -> None:
    seed_metadata(store, data.now)
    account_ids: dict[str, str] = {}
    for index, company in enumerate(data.companies):
        account_ids[company.key] = _account(store, company, data.now, index)
    for index, person in enumerate(data.people):
        _lead(store, person, account_ids[person.company_key], data.now, index)
    for index, deal in enumerate(data.deals):
        _opportunity(store, deal, account_ids[deal.company_key], data.now, index)


def _account(store: OrgStore, company: SeedCompany, now: dt.datetime, index: int) -> str:
    f = company.fields
    created = now - dt.timedelta(days=400 + index % 300)
    row = _system(store.new_id("Account"), created, _modified(now, created, (now - dt.timedelta(days=index % 90)).date(),
                                                              index))
    row.update({"Name": f["name"], "Industry": f["industry"], "NumberOfEmployees": int(f["employees"]),
                "AnnualRevenue": float(f["annual_revenue"]), "BillingCountry": f.get("country"),
                "Segment__c": SEGMENT_VALUE[f["segment"]]})
    store.put("Account", row)
    return row["Id"]


def _lead(store: OrgStore, person: SeedPerson, account_id: str, now: dt.datetime, index: int) -> None:
    f = person.fields
    created: dt.datetime = f["created_date"]
    row = _system(store.new_id("Lead"), created, _modified(now, created, max(f["last_activity_date"],
                                                                             f["stage_changed_date"]), index))
    row.update({
        "FirstName": f["first_name"], "LastName": f["last_name"], "Name": f"{f['first_name']} {f['last_name']}",
        "Company": f["company"], "Email": f["email"],
        "Title": f["title"], "Industry": f["industry"], "NumberOfEmployees": int(f["company_size"]),
        "Country": f["country"], "Status": LEAD_STATUS_BY_STAGE[person.stage], "IsConverted": f["converted"],
        "ConvertedDate": None, "ConvertedAccountId": None, "ConvertedContactId": None,
        "Lead_Score__c": f["score"], "Email_Clicks__c": float(f["email_clicks"]), "Web_Visits__c": float(f["web_visits"]),
        "Product_Page_Visits__c": float(f["product_page_visits"]), "Seminar_Attended__c": f["seminar_attended"],
        "Catalogue_Requested__c": f["catalogue_requested"], "Inquiry__c": f["inquiry"],
        "No_Response__c": f["no_response"], "Last_Activity_Date__c": f["last_activity_date"],
        "Status_Changed_Date__c": f["stage_changed_date"], "Recycle_Count__c": float(f["recycle_count"]),
        "Recycle_Reason__c": f["recycle_reason"], "Segment__c": SEGMENT_VALUE[f["segment"]],
        "Disqualified_Reason__c": f["disqualified_reason"],
    })
    if f["converted"]:
        contact = _system(store.new_id("Contact"), row["SystemModstamp"], row["SystemModstamp"])
        contact.update({"FirstName": f["first_name"], "LastName": f["last_name"],
                        "Name": f"{f['first_name']} {f['last_name']}", "Email": f["email"],
                        "Title": f["title"], "MailingCountry": f["country"], "AccountId": account_id})
        store.put("Contact", contact)
        row.update({"ConvertedDate": row["SystemModstamp"].date(), "ConvertedAccountId": account_id,
                    "ConvertedContactId": contact["Id"]})
    store.put("Lead", row)


def _opportunity(store: OrgStore, deal: SeedDeal, account_id: str, now: dt.datetime, index: int) -> None:
    f: dict[str, Any] = deal.fields
    stage = STAGES_BY_NAME[OPPORTUNITY_STAGE_BY_PHASE[deal.stage]]
    created = now - dt.timedelta(days=200 + index % 200)
    stage_changed = max(created, dt.datetime.combine(f["stage_changed_date"], dt.time(8), UTC))
    row = _system(store.new_id("Opportunity"), created, _modified(now, created, max(
        f["last_activity_date"], f["stage_changed_date"]), index))
    row.update({
        "Name": f["name"], "StageName": stage.name, "Amount": float(f["amount"]), "CloseDate": f["close_date"],
        "Probability": float(f["probability"]), "IsClosed": stage.is_closed, "IsWon": stage.is_won,
        "ForecastCategoryName": stage.forecast_category_name, "AccountId": account_id,
        "LastStageChangeDate": truncate_ms(stage_changed),
        "Budget_Confirmed__c": f["budget_confirmed"], "Authority_Confirmed__c": f["authority_confirmed"],
        "Need_Confirmed__c": f["need_confirmed"], "Timeline_Confirmed__c": f["timeline_confirmed"],
        "Solution_Fit__c": f["solution_fit"], "Champion_Agreed__c": f["champion_agreed"],
        "Differentiation_Established__c": f["differentiation_established"],
        "Approval_Process_Started__c": f["approval_process_started"], "Close_Plan_Complete__c": f["close_plan_complete"],
        "Loss_Reason__c": f["loss_reason"], "Gate_Violation__c": f["gate_violation"],
        "Segment__c": SEGMENT_VALUE[f["segment"]], "Last_Activity_Date__c": f["last_activity_date"],
        "Recycle_Count__c": float(f["recycle_count"]),
    })
    store.put("Opportunity", row)
