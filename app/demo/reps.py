"""What sales reps do in the CRMs between two syncs, played through the sandboxes' admin API.

Each edit is made as "another user" (the sandbox bumps the modification stamp, like a person
saving a record in the CRM UI). One of them is a manual stage change that contradicts what Baton
wrote: Baton must hold it back, not clobber it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests

from app.store import DecisionStatus, Store


@dataclass(frozen=True)
class RepEdit:
    crm: str
    object: str
    record_id: str
    fields: dict[str, Any]
    why: str


def _written_to(store: Store, run_id: str, crm: str, object_name: str, to_stage: str, limit: int) -> list[str]:
    """Ids of never-recycled records the run moved to ``to_stage`` (and wrote the stage).

    Never recycled, so the rules still want them there after a rep's change (a recycled lead
    would be on its re-qualification cool-off, and there would be nothing to hold back).
    """
    ids = [d.record_id for d in store.run_decisions(run_id, status=DecisionStatus.WRITTEN)
           if d.crm == crm and d.object == object_name and d.to_stage == to_stage and d.from_stage != to_stage]
    snapshots = store.get_snapshots(crm, object_name, ids)
    return [i for i in ids if i in snapshots and not snapshots[i].fields.get("recycle_count")][:limit]


def _in_stage(store: Store, crm: str, object_name: str, field: str, value: str, limit: int) -> list[str]:
    """Ids of records whose stored CRM value of ``field`` is ``value``."""
    found: list[str] = []
    for page in store.iter_snapshots(crm=crm, object=object_name):
        found += [s.id for s in page if s.raw.get(field) == value]
        if len(found) >= limit:
            break
    return found[:limit]


def qualifiable(store: Store, crm: str, object_name: str, field: str, value: str, limit: int) -> list[str]:
    """Leads in a stage whose hand-raise the rules will act on at once: with an e-mail address,
    never recycled (a recycled lead nurtures a week first) and no open "no response" from sales."""
    candidates = _in_stage(store, crm, object_name, field, value, limit * 20)
    snapshots = store.get_snapshots(crm, object_name, candidates)
    fit = [i for i in candidates if i in snapshots and snapshots[i].fields.get("email")
           and not snapshots[i].fields.get("recycle_count") and not snapshots[i].fields.get("no_response")]
    return fit[-limit:]


def plan_edits(store: Store, first_run_id: str) -> list[RepEdit]:
    """The reps' edits, chosen from what Baton did in the first sync."""
    edits: list[RepEdit] = []
    today = dt.date.today().isoformat()
    for lead in _written_to(store, first_run_id, "salesforce", "Lead", "qualified", 2):
        edits.append(RepEdit("salesforce", "Lead", lead, {"Status": "Nurturing"},
                             "moved back to Nurturing by hand after Baton qualified it: must be held back"))
    for lead in qualifiable(store, "salesforce", "Lead", "Status", "Nurturing", 3):
        edits.append(RepEdit("salesforce", "Lead", lead, {"Catalogue_Requested__c": True, "Last_Activity_Date__c": today},
                             "requested a catalogue: qualifies at once"))
    for contact in qualifiable(store, "hubspot", "contacts", "hs_lead_status", "IN_PROGRESS", 3):
        edits.append(RepEdit("hubspot", "contacts", contact, {"inquiry_submitted": "true", "last_activity_date": today},
                             "sent an inquiry: qualifies at once"))
    for deal in _in_stage(store, "hubspot", "deals", "dealstage", "qualifiedtobuy", 40)[-2:]:
        edits.append(RepEdit("hubspot", "deals", deal, {"dealstage": "decisionmakerboughtin"},
                             "jumped from phase 2 to phase 4 past unmet gates"))
    for opportunity in _in_stage(store, "salesforce", "Opportunity", "StageName", "Phase 1 - Opportunity", 40)[-2:]:
        edits.append(RepEdit("salesforce", "Opportunity", opportunity, {"Solution_Fit__c": True},
                             "the product fits: phase 1 exit criterion met"))
    return edits


def apply_edits(edits: list[RepEdit], info: dict[str, Any]) -> None:
    """Make the edits through each sandbox's admin endpoint."""
    session = requests.Session()
    session.trust_env = False
    for edit in edits:
        target = info[edit.crm]
        base = target.get("instance_url") or target["host"]
        response = session.post(f"{base}/_sandbox/edit", timeout=10, verify=target.get("ca_cert") or True,
                                json={"object": edit.object, "id": edit.record_id, "fields": edit.fields})
        response.raise_for_status()
