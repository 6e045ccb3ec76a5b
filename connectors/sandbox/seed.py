"""Deterministic, realistic seed data for both sandboxes, in canonical (CRM-neutral) terms.

``generate(seed, leads, now)`` returns companies, people (leads/contacts) and deals described with the
canonical field names and stages of the domain contract (see ``docs/sandboxes.md``); each sandbox
translates them into its own objects and field names. The same seed, size and ``now`` always give
the same data, so tests, demos and benchmarks are reproducible.

The spread follows The Model: people over the lead stages (most in nurturing: about 65% of leads
"might buy, but not now"), scores and activity signals that mostly agree with the stage, deals over
phases 1 to 5 and closed won/lost, SMB and enterprise segments with their different deal sizes, and
exit-criteria fields that mostly hold for the phases already passed (a few do not: those are the
records the stage gates exist for).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

LEAD_STAGE_WEIGHTS: dict[str, float] = {
    "awareness": 0.08, "lead_acquired": 0.14, "nurturing": 0.45, "qualified": 0.13,
    "accepted": 0.10, "disqualified": 0.07, "converted": 0.03,
}
OPPORTUNITY_STAGE_WEIGHTS: dict[str, float] = {
    "phase_1": 0.20, "phase_2": 0.20, "phase_3": 0.15, "phase_4": 0.12, "phase_5": 0.08,
    "closed_won": 0.12, "closed_lost": 0.13,
}
PHASE_PROBABILITY: dict[str, int] = {
    "phase_1": 0, "phase_2": 25, "phase_3": 30, "phase_4": 50, "phase_5": 75, "closed_won": 100, "closed_lost": 0,
}
# Exit criteria of each phase, in phase order: a deal in phase N has (mostly) met those of 1..N-1.
PHASE_EXIT_CRITERIA: dict[str, tuple[str, ...]] = {
    "phase_1": ("solution_fit",),
    "phase_2": ("budget_confirmed", "authority_confirmed", "need_confirmed", "timeline_confirmed"),
    "phase_3": ("champion_agreed", "differentiation_established"),
    "phase_4": ("approval_process_started",),
    "phase_5": ("close_plan_complete",),
}
PHASES = tuple(PHASE_EXIT_CRITERIA)

INDUSTRIES = ("Software", "Manufacturing", "Financial Services", "Healthcare", "Retail", "Logistics",
              "Education", "Media", "Construction", "Energy")
COUNTRIES = ("JP", "JP", "JP", "US", "GB", "DE", "SG", "AU")
TITLES_SENIOR = ("CEO", "CFO", "CIO", "VP Sales", "VP Marketing", "Director of IT", "Head of Operations")
TITLES_OTHER = ("Manager", "Sales Manager", "Marketing Specialist", "Engineer", "Analyst", "Consultant",
                "Coordinator", "Student")
FIRST_NAMES = ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Emma", "Liam", "Olivia", "Noah", "Mia",
               "Lukas", "Sofia", "Chen", "Priya", "Kenji", "Sakura", "Daniel", "Anna", "Mateo")
LAST_NAMES = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Smith",
              "Johnson", "Brown", "Muller", "Schmidt", "Garcia", "Lee", "Wang", "Kobayashi", "Kato")
COMPANY_WORDS = ("Blue", "North", "Summit", "Vertex", "Kaito", "Sakura", "Apex", "Nova", "Orbit", "Pine",
                 "Iron", "Crest", "Harbor", "Zen", "Fuji", "Atlas", "Lumen", "Quanta")
COMPANY_SUFFIXES = ("Systems", "Industries", "Holdings", "Labs", "Logistics", "Foods", "Networks", "Partners")
LOSS_REASONS = ("Price", "Lost to competitor", "No decision", "Timing", "Budget cut", "Feature gap")
DISQUALIFY_REASONS = ("No budget", "Not a fit", "Student", "Competitor", "Duplicate")


@dataclass(frozen=True)
class SeedCompany:
    key: str                      # stable key, e.g. "C00042"; sandboxes derive CRM ids from it
    fields: dict[str, Any]        # canonical account fields


@dataclass(frozen=True)
class SeedPerson:
    key: str
    company_key: str
    stage: str
    fields: dict[str, Any]        # canonical lead fields (stage included)


@dataclass(frozen=True)
class SeedDeal:
    key: str
    company_key: str
    stage: str
    fields: dict[str, Any]        # canonical opportunity fields (stage included)


@dataclass(frozen=True)
class SeedData:
    now: dt.datetime
    companies: list[SeedCompany] = field(default_factory=list)
    people: list[SeedPerson] = field(default_factory=list)
    deals: list[SeedDeal] = field(default_factory=list)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _company(rng: random.Random, index: int) -> SeedCompany:
    enterprise = rng.random() < 0.25
    employees = rng.randint(1000, 50000) if enterprise else rng.randint(5, 999)
    first_word, second_word = rng.sample(COMPANY_WORDS, 2)
    name = f"{first_word} {second_word} {rng.choice(COMPANY_SUFFIXES)}"
    return SeedCompany(key=f"C{index:06d}", fields={
        "name": name, "industry": rng.choice(INDUSTRIES), "employees": employees,
        "segment": "enterprise" if enterprise else "smb",
        "annual_revenue": float(employees * rng.randint(80, 400) * 1000),
        "country": rng.choice(COUNTRIES),
    })


def _activity_for_stage(rng: random.Random, stage: str) -> dict[str, Any]:
    """Activity signals that roughly agree with a lead stage (qualified leads show intent)."""
    engaged = stage in ("nurturing", "qualified", "accepted", "converted")
    intent = stage in ("qualified", "accepted", "converted")
    return {
        "email_clicks": rng.randint(0, 12 if engaged else 2),
        "web_visits": rng.randint(0, 30 if engaged else 4),
        "product_page_visits": rng.randint(0, 10 if engaged else 1),
        "seminar_attended": rng.random() < (0.45 if engaged else 0.05),
        "catalogue_requested": rng.random() < (0.35 if intent else 0.03),
        "inquiry": rng.random() < (0.30 if intent else 0.02),
        "no_response": stage in ("qualified", "accepted") and rng.random() < 0.1,
    }


def _person(rng: random.Random, index: int, company: SeedCompany, now: dt.datetime) -> SeedPerson:
    stage = _weighted(rng, LEAD_STAGE_WEIGHTS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    senior = rng.random() < 0.3
    created = now - dt.timedelta(days=rng.randint(1, 720), seconds=rng.randint(0, 86399))
    days_since_activity = rng.choice((rng.randint(0, 30), rng.randint(0, 120), rng.randint(60, 400)))
    last_activity = max((now - dt.timedelta(days=days_since_activity)).date(), created.date())
    stage_changed = created.date() + dt.timedelta(days=rng.randint(0, max(0, (now.date() - created.date()).days)))
    fields: dict[str, Any] = {
        "stage": stage,
        "first_name": first, "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{index}@{company.fields['name'].split()[0].lower()}.example.com",
        "title": rng.choice(TITLES_SENIOR if senior else TITLES_OTHER),
        "company": company.fields["name"],
        "industry": company.fields["industry"],
        "company_size": company.fields["employees"],
        "country": company.fields["country"],
        "segment": company.fields["segment"],
        **_activity_for_stage(rng, stage),
        "last_activity_date": last_activity,
        "stage_changed_date": min(stage_changed, now.date()),
        "created_date": created,
        "score": None,
        "recycle_count": rng.choice((0, 0, 0, 0, 1, 2)) if stage in ("nurturing", "qualified") else 0,
        "recycle_reason": None,
        "disqualified_reason": rng.choice(DISQUALIFY_REASONS) if stage == "disqualified" else None,
        "converted": stage == "converted",
    }
    return SeedPerson(key=f"P{index:07d}", company_key=company.key, stage=stage, fields=fields)


def _criteria_for_phase(rng: random.Random, stage: str) -> dict[str, bool]:
    """Exit criteria of the phases a deal has passed hold (95% of the time); later ones mostly don't."""
    if stage in ("closed_won", "closed_lost"):
        reached = len(PHASES) if stage == "closed_won" else rng.randint(1, len(PHASES))
    else:
        reached = PHASES.index(stage)
    values: dict[str, bool] = {}
    for position, phase in enumerate(PHASES):
        for criterion in PHASE_EXIT_CRITERIA[phase]:
            passed = position < reached
            values[criterion] = (rng.random() < 0.95) if passed else (rng.random() < 0.2)
    return values


def _deal(rng: random.Random, index: int, company: SeedCompany, now: dt.datetime) -> SeedDeal:
    stage = _weighted(rng, OPPORTUNITY_STAGE_WEIGHTS)
    enterprise = company.fields["segment"] == "enterprise"
    amount = round(rng.uniform(100_000, 2_000_000) if enterprise else rng.uniform(5_000, 50_000), -2)
    closed = stage in ("closed_won", "closed_lost")
    close_date = (now + dt.timedelta(days=rng.randint(-180, -1) if closed else rng.randint(5, 180))).date()
    days_since_activity = rng.choice((rng.randint(0, 20), rng.randint(0, 90), rng.randint(30, 300)))
    fields: dict[str, Any] = {
        "stage": stage,
        "name": f"{company.fields['name']} - {rng.choice(('New', 'Expansion', 'Renewal', 'Pilot'))}",
        "amount": amount,
        "close_date": close_date,
        "probability": PHASE_PROBABILITY[stage],
        "segment": company.fields["segment"],
        **_criteria_for_phase(rng, stage),
        "loss_reason": rng.choice(LOSS_REASONS) if stage == "closed_lost" else None,
        "last_activity_date": (now - dt.timedelta(days=days_since_activity)).date(),
        "stage_changed_date": (now - dt.timedelta(days=rng.randint(0, 120))).date(),
        "gate_violation": None,
        "recycle_count": 0,
    }
    return SeedDeal(key=f"D{index:07d}", company_key=company.key, stage=stage, fields=fields)


def generate(seed: int = 42, leads: int = 1000, now: dt.datetime | None = None,
             opportunities: int | None = None, companies: int | None = None) -> SeedData:
    """Seed data: ``leads`` people, one company per ten people, one deal per five people by default."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    rng = random.Random(seed)
    company_count = companies if companies is not None else max(1, leads // 10)
    deal_count = opportunities if opportunities is not None else max(1, leads // 5)
    data = SeedData(now=now)
    data.companies.extend(_company(rng, i) for i in range(company_count))
    data.people.extend(_person(rng, i, rng.choice(data.companies), now) for i in range(leads))
    data.deals.extend(_deal(rng, i, rng.choice(data.companies), now) for i in range(deal_count))
    return data
