"""The record generator (seeded, messy) and the stage <-> CRM value mapping."""
from __future__ import annotations

from datetime import date

import pytest

from rules.generate import generate_records
from rules.load import the_model
from rules.mapping import StageMappingError, crm_stage_fields, stage_from_crm, stage_rank, stage_to_crm


def test_generator_is_seeded_and_messy() -> None:
    ruleset = the_model()
    first = generate_records(ruleset, "lead", 2000, seed=5)
    assert first == generate_records(ruleset, "lead", 2000, seed=5)
    assert first != generate_records(ruleset, "lead", 2000, seed=6)
    values = [v for record in first for v in record.values()]
    assert any(v is None for v in values)
    assert any(isinstance(r.get("email_clicks"), str) for r in first)       # numbers as strings
    assert any(isinstance(r.get("last_activity_date"), date) for r in first)
    assert any(isinstance(r.get("last_activity_date"), str) for r in first)
    assert any("email_clicks" not in r for r in first)                       # absent keys
    assert len({r["id"] for r in first}) == 2000


def test_clean_generator_gives_declared_types() -> None:
    records = generate_records(the_model(), "opportunity", 500, seed=1, messy=False)
    for record in records:
        for name in ("budget_confirmed", "solution_fit"):
            assert record.get(name) is None or isinstance(record[name], bool)


@pytest.mark.parametrize("crm, values, stage", [
    ("salesforce", {"Status": "Lead Acquired"}, "lead_acquired"),
    ("hubspot", {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS"}, "nurturing"),
    ("hubspot", {"lifecyclestage": "marketingqualifiedlead", "hs_lead_status": "OPEN"}, "qualified"),
    ("hubspot", {"lifecyclestage": "lead"}, None),
    ("salesforce", {"Status": "Working"}, None),
])
def test_lead_stage_from_crm(crm: str, values: dict, stage: str | None) -> None:
    assert stage_from_crm(the_model(), "lead", crm, values) == stage


def test_stage_to_crm_and_fields() -> None:
    ruleset = the_model()
    assert stage_to_crm(ruleset, "lead", "hubspot", "disqualified") == \
        {"lifecyclestage": "other", "hs_lead_status": "UNQUALIFIED"}
    assert stage_to_crm(ruleset, "opportunity", "salesforce", "phase_2") == \
        {"StageName": "Phase 2 - Problem Recognised"}
    assert stage_from_crm(ruleset, "opportunity", "hubspot",
                          {"pipeline": "default", "dealstage": "contractsent"}) == "phase_5"
    assert crm_stage_fields(ruleset, "opportunity", "hubspot") == ("pipeline", "dealstage")
    assert stage_rank(ruleset, "lead", "nurturing") < stage_rank(ruleset, "lead", "qualified")
    with pytest.raises(StageMappingError, match="declares no hubspot values"):
        stage_to_crm(ruleset, "lead", "hubspot", "converted")
    with pytest.raises(StageMappingError):
        stage_to_crm(ruleset, "lead", "salesforce", "nowhere")
