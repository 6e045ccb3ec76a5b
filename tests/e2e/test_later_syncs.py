"""Syncs after the first, through real workers: an unchanged CRM costs no writes, a manual stage
change after Baton wrote is held back, and a rate-limited CRM is waited out rather than hammered.
Small data (200 leads per CRM)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job

from app.pipeline.runner import RunSummary
from app.queueing import SERIALIZER
from app.store import Decision, DecisionStatus
from tests.e2e.support import Loop, calls, records_sent, running_loop, write_calls

CRMS = ("salesforce", "hubspot")
LEADS = {"salesforce": "Lead", "hubspot": "contacts"}
# A rep moves a lead Baton qualified back to nurturing (HubSpot: backward, so clear first, as in the UI).
MANUAL_STAGE: dict[str, list[dict[str, Any]]] = {"salesforce": [{"Status": "Nurturing"}],
                "hubspot": [{"lifecyclestage": ""}, {"lifecyclestage": "lead", "hs_lead_status": "IN_PROGRESS"}]}
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
# A lead in nurturing asks for the catalogue / sends an inquiry today (fresh activity, as The Model
# requires for a hand-raiser to qualify).
HAND_RAISE: dict[str, dict[str, Any]] = {
    "salesforce": {"Catalogue_Requested__c": True, "Last_Activity_Date__c": TODAY, "No_Response__c": False},
    "hubspot": {"inquiry_submitted": "true", "last_activity_date": TODAY, "no_response": "false"}}
RECYCLE_COUNT = {"salesforce": "Recycle_Count__c", "hubspot": "baton_recycle_count"}
REFUSED_WRITE = {"salesforce": "PATCH composite/sobjects", "hubspot": "batch/update"}
HUBSPOT_RETRY_AFTER_S = 2.0


@dataclass
class LaterSyncs:
    loop: Loop
    first: RunSummary
    unchanged: RunSummary | None = None
    unchanged_counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    manual: dict[str, str] = field(default_factory=dict)             # crm -> record a person moved back
    raised: dict[str, list[str]] = field(default_factory=dict)       # crm -> records that raised a hand
    edited: RunSummary | None = None
    edited_counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults_after: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def _nurturing(rows: dict[str, dict[str, Any]], crm: str) -> list[str]:
    """Leads in nurturing never recycled (a recycled lead must nurture a while before it requalifies)."""
    fresh = {i: r for i, r in rows.items() if not float(r.get(RECYCLE_COUNT[crm]) or 0)}
    if crm == "salesforce":
        return [i for i, r in fresh.items() if r.get("Status") == "Nurturing"]
    return [i for i, r in fresh.items() if r.get("lifecyclestage") == "lead" and r.get("hs_lead_status") == "IN_PROGRESS"]


def _make_edits(state: LaterSyncs) -> None:
    loop = state.loop
    for crm in CRMS:
        admin, object_name = loop.admin(crm), LEADS[crm]
        qualified = [d.record_id for d in loop.ctx.store.run_decisions(state.first.run_id, status="written")
                     if d.crm == crm and d.object == object_name and d.to_stage == "qualified"]
        assert qualified, f"the first sync qualified no {crm} lead: nothing to change by hand"
        state.manual[crm] = qualified[0]
        for values in MANUAL_STAGE[crm]:
            admin.edit(object_name, qualified[0], values)
        state.raised[crm] = [i for i in _nurturing(admin.records(object_name), crm) if i != qualified[0]][:3]
        for record_id in state.raised[crm]:
            admin.edit(object_name, record_id, HAND_RAISE[crm])


@pytest.fixture(scope="module")
def later(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaterSyncs]:
    with running_loop(Path(tmp_path_factory.mktemp(f"later-{store_kind}")), store_kind, records=200) as loop:
        state = LaterSyncs(loop, loop.sync(full=True))
        for crm in CRMS:
            loop.admin(crm).reset_counters()
        state.unchanged = loop.sync()
        state.unchanged_counters = {crm: loop.admin(crm).counters() for crm in CRMS}
        _make_edits(state)
        loop.admin("salesforce").set_faults(rate_limit_next=1, endpoints=[REFUSED_WRITE["salesforce"]])
        loop.admin("hubspot").set_faults(rate_limit_next=1, retry_after_s=HUBSPOT_RETRY_AFTER_S,
                                         endpoints=[REFUSED_WRITE["hubspot"]])
        for crm in CRMS:
            loop.admin(crm).reset_counters()
        state.edited = loop.sync()
        state.edited_counters = {crm: loop.admin(crm).counters() for crm in CRMS}
        state.faults_after = {crm: loop.admin(crm).faults() for crm in CRMS}
        state.decisions = loop.ctx.store.run_decisions(state.edited.run_id)
        state.rows = {crm: loop.admin(crm).records(LEADS[crm]) for crm in CRMS}
        yield state


# ---------------------------------------------------------------------------------------- unchanged
@pytest.mark.parametrize("crm", CRMS)
def test_a_second_sync_without_crm_changes_writes_nothing(later: LaterSyncs, crm: str) -> None:
    counters = later.unchanged_counters[crm]
    assert write_calls(counters, crm) == 0, f"{crm} write calls on an unchanged CRM: {counters['calls']}"
    assert later.unchanged is not None
    assert later.unchanged.counts.get("written", 0) == 0 and later.unchanged.counts.get("planned", 0) == 0, \
        f"counts {dict(later.unchanged.counts)}, decisions by rule {dict(later.unchanged.by_rule)}"
    assert counters["total_calls"] > 0, "the second sync did not even read the CRM"


def test_the_first_sync_did_write(later: LaterSyncs) -> None:
    """Guard for the test above: the first sync wrote, so "nothing written" is not trivially true."""
    assert later.first.counts.get("written", 0) > 0


# ------------------------------------------------------------------------------------------ held back
@pytest.mark.parametrize("crm", CRMS)
def test_manual_stage_change_after_baton_wrote_is_held_back(later: LaterSyncs, crm: str) -> None:
    record_id = later.manual[crm]
    held = [d for d in later.decisions if d.crm == crm and d.record_id == record_id
            and d.status is DecisionStatus.HELD_BACK]
    assert len(held) == 1, [(d.rule_id, d.status) for d in later.decisions if d.record_id == record_id]
    assert "changed by hand" in held[0].reason and "held until" in held[0].reason, held[0].reason
    row = later.rows[crm][record_id]
    for name, value in MANUAL_STAGE[crm][-1].items():
        assert row.get(name) == value, f"{crm} {record_id} {name} = {row.get(name)!r}: the manual change was clobbered"


@pytest.mark.parametrize("crm", CRMS)
def test_hand_raisers_are_qualified_in_the_next_sync(later: LaterSyncs, crm: str) -> None:
    written = {d.record_id for d in later.decisions if d.crm == crm and d.status is DecisionStatus.WRITTEN
               and d.to_stage == "qualified"}
    assert set(later.raised[crm]) <= written, (later.raised[crm], written)


# ---------------------------------------------------------------------------------------- rate limit
@pytest.mark.parametrize("crm", CRMS)
def test_rate_limited_write_is_waited_out_not_hammered(later: LaterSyncs, crm: str) -> None:
    """One write is refused (403 REQUEST_LIMIT_EXCEEDED / 429 Retry-After: 2); the run completes, the
    CRM sees exactly one extra write call, and the job's retry started after the time it was told."""
    assert later.faults_after[crm]["rate_limit_next"] == 0, "the refusal was never triggered"
    counters = later.edited_counters[crm]
    written = [d for d in later.decisions if d.crm == crm and d.status is DecisionStatus.WRITTEN]
    assert written and all(d.status is not DecisionStatus.PLANNED for d in later.decisions)
    # One evaluation page of few records: one write call is needed per object written (HubSpot: two
    # when a lifecycle stage moves backward, clear then set), plus the refused one.
    needed = len({d.object for d in written}) + len({d.object for d in written if _backward(d)})
    assert calls(counters, REFUSED_WRITE[crm]) == needed + 1, counters["calls"]
    assert records_sent(counters, REFUSED_WRITE[crm]) >= len(written)
    jobs = _rate_limited_jobs(later.loop, crm)
    assert len(jobs) == 1, f"{len(jobs)} rate-limited write-back jobs for {crm}"
    meta = jobs[0].meta
    assert meta["rate_limited"] == 1 and meta["retry"]["reason"] == "rate_limited"
    assert meta["last_started_at"] >= meta["retry"]["not_before"], meta
    if crm == "hubspot":
        assert meta["retry"]["delay_s"] >= HUBSPOT_RETRY_AFTER_S, meta["retry"]


LIFECYCLE_ORDER = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                   "customer", "evangelist")


def _backward(decision: Decision) -> bool:
    """A HubSpot lifecycle stage moved backward (written as clear-then-set: two batch updates)."""
    before = decision.explanation.get("read", {}).get("lifecyclestage")
    after = decision.explanation.get("write", {}).get("lifecyclestage")
    return (before in LIFECYCLE_ORDER and after in LIFECYCLE_ORDER
            and LIFECYCLE_ORDER.index(after) < LIFECYCLE_ORDER.index(before))


def _rate_limited_jobs(loop: Loop, crm: str) -> list[Job]:
    ids = [k.decode().removeprefix("rq:job:") for k in loop.redis.scan_iter(match=f"rq:job:writeback-{crm}-*")]
    jobs = [j for j in Job.fetch_many(ids, connection=loop.redis, serializer=SERIALIZER) if j is not None]
    return [j for j in jobs if j.meta.get("rate_limited")]
