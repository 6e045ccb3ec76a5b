"""SeedData (canonical, CRM-neutral) -> sandbox companies, contacts and deals with numeric string ids.

Lead stages follow the domain contract (awareness = subscriber, lead_acquired = lead + NEW, nurturing =
lead + IN_PROGRESS, qualified = marketingqualifiedlead, accepted = salesqualifiedlead, disqualified =
other + UNQUALIFIED). ``converted`` (a Salesforce notion) becomes ``opportunity``: a contact with an open
deal. Deal stages map to the default pipeline's stage ids. Created and modified times are spread
deterministically (from each seed key) over the past, so incremental reads have something to order.
"""
from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from connectors.sandbox.hubspot.store import PortalStore
from connectors.sandbox.hubspot.timeutil import date_ms, iso_ms
from connectors.sandbox.seed import SeedData

LEAD_STAGE_PROPERTIES: dict[str, dict[str, str]] = {
    "awareness": {"lifecyclestage": "subscriber"},
    "lead_acquired": {"lifecyclestage": "lead", "hs_lead_status": "NEW"},
    "nurturing": {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS"},
    "qualified": {"lifecyclestage": "marketingqualifiedlead"},
    "accepted": {"lifecyclestage": "salesqualifiedlead"},
    "disqualified": {"lifecyclestage": "other", "hs_lead_status": "UNQUALIFIED"},
    "converted": {"lifecyclestage": "opportunity", "hs_lead_status": "OPEN_DEAL"},
}
DEAL_STAGE_IDS: dict[str, str] = {
    "phase_1": "appointmentscheduled", "phase_2": "qualifiedtobuy", "phase_3": "presentationscheduled",
    "phase_4": "decisionmakerboughtin", "phase_5": "contractsent", "closed_won": "closedwon",
    "closed_lost": "closedlost",
}
DEAL_CRITERIA = ("budget_confirmed", "authority_confirmed", "need_confirmed", "timeline_confirmed", "solution_fit",
                 "champion_agreed", "differentiation_established", "approval_process_started", "close_plan_complete")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and turn dates/booleans into HubSpot's wire strings."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = value.isoformat()
        out[name] = value
    return out


def _times(key: str, created_ms: int, now_ms: int) -> tuple[int, int]:
    """(created, modified): modified falls deterministically between creation and the seed's now."""
    span = max(1, now_ms - created_ms)
    return created_ms, created_ms + zlib.crc32(key.encode()) % span


def seed_store(store: PortalStore, data: SeedData) -> dict[str, dict[str, str]]:
    """Load the seed into the store; returns seed key -> record id per object type."""
    now = int(data.now.timestamp() * 1000)
    ids: dict[str, dict[str, str]] = {"companies": {}, "contacts": {}, "deals": {}}
    for company in data.companies:
        f = company.fields
        props = _clean({"name": f["name"], "industry": f["industry"], "numberofemployees": f["employees"],
                        "annualrevenue": f["annual_revenue"], "segment": f["segment"], "country": f.get("country"),
                        "domain": f"{f['name'].lower().replace(' ', '')}.example.com"})
        created = now - 86_400_000 * (800 + zlib.crc32(company.key.encode()) % 400)
        record = store.create("companies", props, created_ms=created, modified_ms=_times(company.key, created, now)[1])
        ids["companies"][company.key] = str(record.id)
    for person in data.people:
        created, modified = _times(person.key, int(person.fields["created_date"].timestamp() * 1000), now)
        record = store.create("contacts", _contact_properties(person.fields), created_ms=created, modified_ms=modified)
        ids["contacts"][person.key] = str(record.id)
    for deal in data.deals:
        created = now - 86_400_000 * (30 + zlib.crc32(deal.key.encode()) % 300)
        _, modified = _times(deal.key, created, now)
        record = store.create("deals", _deal_properties(deal.fields), created_ms=created, modified_ms=modified)
        # The seed knows when each deal entered its stage; HubSpot derives it, so set it after the create.
        record.properties["hs_v2_date_entered_current_stage"] = iso_ms(date_ms(deal.fields["stage_changed_date"]))
        ids["deals"][deal.key] = str(record.id)
    return ids


def _contact_properties(f: dict[str, Any]) -> dict[str, Any]:
    return _clean({
        **LEAD_STAGE_PROPERTIES[f["stage"]],
        "email": f["email"], "firstname": f["first_name"], "lastname": f["last_name"], "jobtitle": f["title"],
        "company": f["company"], "industry": f["industry"], "numemployees": f["company_size"],
        "country": f["country"], "segment": f["segment"], "email_clicks": f["email_clicks"],
        "web_visits": f["web_visits"], "product_page_visits": f["product_page_visits"],
        "seminar_attended": f["seminar_attended"], "catalogue_requested": f["catalogue_requested"],
        "inquiry_submitted": f["inquiry"], "no_response": f["no_response"],
        "last_activity_date": f["last_activity_date"], "stage_changed_date": f["stage_changed_date"],
        "baton_score": f["score"], "baton_recycle_count": f["recycle_count"],
        "baton_recycle_reason": f["recycle_reason"], "disqualified_reason": f["disqualified_reason"],
    })


def _deal_properties(f: dict[str, Any]) -> dict[str, Any]:
    return _clean({
        "dealname": f["name"], "amount": f["amount"], "pipeline": "default", "dealstage": DEAL_STAGE_IDS[f["stage"]],
        "closedate": f["close_date"], "closed_lost_reason": f["loss_reason"], "gate_violation": f["gate_violation"],
        "segment": f["segment"], "last_activity_date": f["last_activity_date"],
        "baton_recycle_count": f["recycle_count"], **{name: f[name] for name in DEAL_CRITERIA},
    })
