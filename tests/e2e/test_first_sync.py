"""The first full sync, through real workers, with a person editing one record between Baton's read
and write and the CRM refusing another: stages match the rules, the edit survives, the refusal is
reported and the rest of its batch is written. 600 leads per CRM: several HubSpot search pages (200
each), so the sync is still paging while other workers already write back; otherwise small."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.pipeline.runner import RunSummary
from app.store import Decision, DecisionStatus
from connectors.records import Record
from tests.e2e import expectations
from tests.e2e.support import Loop, running_loop

LEADS = {"salesforce": "Lead", "hubspot": "contacts"}
STAGED = {("salesforce", "Lead"): "lead", ("salesforce", "Opportunity"): "opportunity",
          ("hubspot", "contacts"): "lead", ("hubspot", "deals"): "opportunity"}
# A person disqualifies the lead by hand right after Baton has read it.
PERSON_EDIT = {"salesforce": {"Status": "Disqualified"},
               "hubspot": {"lifecyclestage": "other", "hs_lead_status": "UNQUALIFIED"}}
REFUSAL = "Baton test: a status change needs a reason (validation rule)"


@dataclass
class FirstSync:
    loop: Loop
    before: dict[tuple[str, str], list[Record]]
    decided: dict[tuple[str, str], dict[str, Any]]
    edited: dict[str, str] = field(default_factory=dict)     # crm -> record id edited after read
    refused: dict[str, str] = field(default_factory=dict)    # crm -> record id the CRM refuses
    summary: RunSummary | None = None
    after: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)

    def decision_for(self, crm: str, record_id: str) -> Decision:
        found = [d for d in self.decisions if d.crm == crm and d.record_id == record_id]
        assert len(found) == 1, f"expected one decision about {crm} {record_id}, got {found}"
        return found[0]


def _stage_movers(state: FirstSync, crm: str) -> list[str]:
    """Leads whose stage the rules change, other than to disqualified (the person's edit), most
    recently modified first. The person edits one of the last records the sync reads: an edit bumps
    the modification date, and a record edited early would be read a second time by the same
    (modified-ordered) sync, so Baton would decide on the person's value and no conflict could arise."""
    key = (crm, LEADS[crm])
    records = {r.id: r for r in state.before[key]}
    movers = [rid for rid, d in state.decided[key].items()
              if expectations.changes_stage("lead", crm, records[rid], d) and d.to_stage != "disqualified"
              and d.from_stage != "disqualified"]
    return sorted(movers, key=lambda rid: (records[rid].modified_at, rid), reverse=True)


@pytest.fixture(scope="module")
def first_sync(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstSync]:
    with running_loop(Path(tmp_path_factory.mktemp(f"first-{store_kind}")), store_kind, records=600) as loop:
        before = {key: loop.read_all(*key) for key in STAGED}
        decided = {key: expectations.decide(kind, before[key]) for key, kind in STAGED.items()}
        state = FirstSync(loop, before, decided)
        for crm, object_name in LEADS.items():
            movers = _stage_movers(state, crm)
            assert len(movers) >= 10, f"the seed gives too few stage changes on {crm} to test with"
            state.edited[crm], state.refused[crm] = movers[0], movers[7]
            admin = loop.admin(crm)
            admin.set_faults(edit_after_read=[{"object": object_name, "id": movers[0],
                                               "fields": PERSON_EDIT[crm]}],
                             fail_records={movers[7]: REFUSAL})
            admin.reset_counters()
        state.summary = loop.sync(full=True)
        state.after = {key: loop.admin(key[0]).records(key[1]) for key in STAGED}
        state.decisions = loop.ctx.store.run_decisions(state.summary.run_id)
        yield state


@pytest.mark.parametrize("crm,object_name", list(STAGED))
def test_every_record_is_synced(first_sync: FirstSync, crm: str, object_name: str) -> None:
    """Each CRM record has exactly one snapshot in the store after the full sync (none skipped)."""
    stored = [s.id for page in first_sync.loop.ctx.store.iter_snapshots(crm=crm, object=object_name) for s in page]
    missing = set(first_sync.after[(crm, object_name)]) - set(stored)
    assert not missing, f"{len(missing)} of {len(first_sync.after[(crm, object_name)])} {crm} {object_name} " \
                        f"never read by the full sync, e.g. {sorted(missing)[:5]}"
    assert len(stored) == len(set(stored)) == len(first_sync.after[(crm, object_name)])


@pytest.mark.parametrize("crm,object_name", list(STAGED))
def test_stages_written_match_the_rules(first_sync: FirstSync, crm: str, object_name: str) -> None:
    """Every record's stage in the CRM is what the Python engine decides from the pre-sync state."""
    kind = STAGED[(crm, object_name)]
    skip = {first_sync.edited[crm], first_sync.refused[crm]}
    moved, mismatches = 0, []
    for record in first_sync.before[(crm, object_name)]:
        if record.id in skip:
            continue
        decision = first_sync.decided[(crm, object_name)][record.id]
        expected = expectations.expected_stage_values(kind, crm, record, decision)
        actual = expectations.actual_stage_values(kind, crm, first_sync.after[(crm, object_name)][record.id])
        moved += expectations.changes_stage(kind, crm, record, decision)
        if actual != expected:
            mismatches.append((record.id, decision.from_stage, decision.to_stage, expected, actual))
    assert not mismatches, f"{len(mismatches)} {crm} {object_name} stage(s) differ from the rules: {mismatches[:5]}"
    assert moved > 0, "no record changed stage: the comparison would prove nothing"


def test_every_write_is_settled(first_sync: FirstSync) -> None:
    """Nothing is left planned; everything but the edited and the refused records is written."""
    statuses = {(d.crm, d.record_id): d.status for d in first_sync.decisions}
    special = {(crm, rid) for crm, rid in first_sync.edited.items()} | set(first_sync.refused.items())
    others = {k: s for k, s in statuses.items() if k not in special}
    assert others and set(others.values()) == {DecisionStatus.WRITTEN}, \
        {s: sum(1 for v in others.values() if v == s) for s in set(others.values())}
    assert first_sync.summary is not None and not first_sync.summary.notes


@pytest.mark.parametrize("crm", list(LEADS))
def test_edit_between_read_and_write_is_not_clobbered(first_sync: FirstSync, crm: str) -> None:
    record_id = first_sync.edited[crm]
    decision = first_sync.decision_for(crm, record_id)
    assert decision.status is DecisionStatus.CONFLICT
    row = first_sync.after[(crm, LEADS[crm])][record_id]
    for name, value in PERSON_EDIT[crm].items():
        assert row.get(name) == value, f"{name} is {row.get(name)!r}: the person's {value!r} was overwritten"


@pytest.mark.parametrize("crm", list(LEADS))
def test_partial_batch_failure_reports_the_bad_record(first_sync: FirstSync, crm: str) -> None:
    record_id = first_sync.refused[crm]
    decision = first_sync.decision_for(crm, record_id)
    assert decision.status is DecisionStatus.FAILED
    history = first_sync.loop.ctx.store.record_history(crm, LEADS[crm], record_id)
    failed = [e for d in history for e in d.events if e.status is DecisionStatus.FAILED]
    assert failed and REFUSAL in (failed[-1].detail or "") + str(failed[-1].crm_answer)
    row = first_sync.after[(crm, LEADS[crm])][record_id]
    before = next(r for r in first_sync.before[(crm, LEADS[crm])] if r.id == record_id)
    assert expectations.actual_stage_values("lead", crm, row) == \
        expectations.actual_stage_values("lead", crm, before.raw), "the refused record was written"
