"""The append-only decision log: idempotency, events, history, run summaries, pending work."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.store import DecisionEvent, DecisionStatus, NewDecision, Store, UnknownDecision, decision_key
from app.store.store import UnitOfWork
from tests.store.conftest import T0


def decision(
    ns: str,
    record_id: str = "00Q1",
    *,
    run_id: str | None = None,
    rule_id: str = "qualify_on_score",
    to: str = "qualified",
    modified_offset: int = 0,
    **overrides: object,
) -> NewDecision:
    values: dict[str, object] = dict(
        crm="salesforce",
        object=ns,
        record_id=record_id,
        kind="lead",
        ruleset_version="a1b2c3d4e5f60718",
        changes={"stage": {"from": "nurturing", "to": to}},
        reason="score 120 >= 100",
        rule_id=rule_id,
        from_stage="nurturing",
        to_stage=to,
        explanation={"score": 120, "threshold": 100},
        run_id=run_id,
        record_modified_at=T0 + timedelta(minutes=modified_offset),
    )
    values.update(overrides)
    return NewDecision(**values)  # type: ignore[arg-type]


def test_log_round_trip_with_first_event(store: Store, ns: str) -> None:
    (logged,) = store.log_decisions([decision(ns, explanation={"matched": ["score >= 100"], "score": 120})])

    stored = store.get_decision(logged.decision_id)

    assert logged.created and logged.status is DecisionStatus.PLANNED
    assert stored is not None and stored.status is DecisionStatus.PLANNED
    assert stored.changes == {"stage": {"from": "nurturing", "to": "qualified"}}
    assert stored.explanation == {"matched": ["score >= 100"], "score": 120}
    assert stored.record_modified_at == T0
    assert [e.status for e in stored.events] == [DecisionStatus.PLANNED]


def test_a_retried_job_logs_the_same_decision_once(store: Store, ns: str) -> None:
    (first,) = store.log_decisions([decision(ns)])
    store.add_event(first.decision_id, DecisionStatus.WRITTEN, crm_answer={"success": True})

    (again,) = store.log_decisions([decision(ns, explanation={"different": "explanation text"})])

    assert not again.created
    assert again.decision_id == first.decision_id
    assert again.status is DecisionStatus.WRITTEN  # the retry sees the write already happened
    history = store.record_history("salesforce", ns, "00Q1")
    assert len(history) == 1 and [e.status for e in history[0].events] == ["planned", "written"]


def test_duplicates_inside_one_call_are_logged_once(store: Store, ns: str) -> None:
    answers = store.log_decisions([decision(ns), decision(ns), decision(ns, "00Q2")])

    assert [a.created for a in answers] == [True, False, True]
    assert answers[0].decision_id == answers[1].decision_id != answers[2].decision_id
    assert len(store.get_decision(answers[0].decision_id).events) == 1  # type: ignore[union-attr]


def test_a_new_record_state_or_ruleset_makes_a_new_decision(store: Store, ns: str) -> None:
    base = decision(ns)
    keys = {
        decision_key(d.crm, d.object, d.record_id, d.ruleset_version, d.changes, d.record_modified_at)
        for d in (
            base,
            decision(ns, modified_offset=5),
            decision(ns, ruleset_version="ffff000011112222"),
            decision(ns, to="accepted"),
        )
    }
    assert len(keys) == 4

    answers = store.log_decisions([base, decision(ns, modified_offset=5)])

    assert all(a.created for a in answers)


def test_idempotency_key_is_unique_in_the_database(store: Store, ns: str) -> None:
    (logged,) = store.log_decisions([decision(ns)])
    row = {"id": str(uuid.uuid4()), "key": logged.idempotency_key, "at": T0}

    with pytest.raises(IntegrityError), store.unit_of_work() as uow:
        uow.connection.execute(
            text(
                "INSERT INTO decisions (decision_id, idempotency_key, crm, object, record_id, kind,"
                " ruleset_version, changes, reason, decided_at) VALUES (:id, :key, 'salesforce', 'Lead',"
                " 'x', 'lead', 'v', '{}', 'r', :at)"
            ),
            row,
        )


def test_history_keeps_every_event_in_order(store: Store, ns: str) -> None:
    (older,) = store.log_decisions([decision(ns, decided_at=T0)])
    (newer,) = store.log_decisions(
        [decision(ns, to="accepted", modified_offset=1, decided_at=T0 + timedelta(1))]
    )
    store.add_events(
        [
            DecisionEvent(
                older.decision_id, DecisionStatus.FAILED, crm_answer={"errorCode": "UNABLE_TO_LOCK_ROW"}
            ),
            DecisionEvent(older.decision_id, DecisionStatus.PLANNED, detail="retrying"),
        ]
    )
    store.add_event(older.decision_id, DecisionStatus.WRITTEN, crm_answer={"id": "00Q1", "success": True})
    store.add_event(newer.decision_id, DecisionStatus.HELD_BACK, detail="a person changed stage 2h ago")

    history = store.record_history("salesforce", ns, "00Q1")

    assert [d.decision_id for d in history] == [newer.decision_id, older.decision_id]  # newest first
    assert [e.status for e in history[1].events] == ["planned", "failed", "planned", "written"]
    assert history[1].status is DecisionStatus.WRITTEN
    assert history[1].events[1].crm_answer == {"errorCode": "UNABLE_TO_LOCK_ROW"}
    assert history[0].status is DecisionStatus.HELD_BACK
    assert history[0].events[-1].detail == "a person changed stage 2h ago"
    assert store.record_history("salesforce", ns, "00Q1", limit=1)[0].decision_id == newer.decision_id


def test_the_api_offers_no_update_or_delete_of_the_log() -> None:
    names = [name for name in dir(UnitOfWork) if not name.startswith("_")]
    about_the_log = [n for n in names if "decision" in n or "event" in n or "history" in n]

    assert about_the_log  # the log API exists...
    assert not [n for n in about_the_log if n.startswith(("update", "delete", "remove", "set", "clear"))]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE decisions SET reason = 'rewritten'",
        "DELETE FROM decisions",
        "UPDATE decision_events SET status = 'written'",
        "DELETE FROM decision_events",
    ],
)
def test_the_database_refuses_update_and_delete_of_the_log(store: Store, ns: str, statement: str) -> None:
    (logged,) = store.log_decisions([decision(ns)])

    with pytest.raises(DBAPIError, match="append-only"), store.unit_of_work() as uow:
        uow.connection.execute(text(statement))

    stored = store.get_decision(logged.decision_id)
    assert stored is not None and stored.reason == "score 120 >= 100" and stored.status == "planned"


def test_an_event_for_an_unknown_decision_is_refused(store: Store) -> None:
    with pytest.raises(UnknownDecision):
        store.add_event(str(uuid.uuid4()), DecisionStatus.WRITTEN)


def test_run_summaries(store: Store, ns: str) -> None:
    run_id, other_run = str(uuid.uuid4()), str(uuid.uuid4())
    answers = store.log_decisions(
        [
            decision(ns, "00Q1", run_id=run_id),
            decision(ns, "00Q2", run_id=run_id),
            decision(ns, "00Q3", run_id=run_id, rule_id="recycle_no_response", to="nurturing"),
            decision(
                ns,
                "00Q4",
                run_id=run_id,
                rule_id="recycle_no_response",
                to="nurturing",
                status=DecisionStatus.HELD_BACK,
                detail="manual change",
            ),
            decision(ns, "00Q5", run_id=other_run),
        ]
    )
    store.add_event(answers[0].decision_id, DecisionStatus.WRITTEN)
    store.add_event(
        answers[1].decision_id,
        DecisionStatus.FAILED,
        crm_answer={"errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION"},
    )

    assert store.counts_by_rule(run_id) == {"qualify_on_score": 2, "recycle_no_response": 2}
    assert store.counts_by_status(run_id) == {"written": 1, "failed": 1, "planned": 1, "held_back": 1}
    assert [d.record_id for d in store.run_decisions(run_id)] == ["00Q1", "00Q2", "00Q3", "00Q4"]
    assert [d.record_id for d in store.run_decisions(run_id, status="failed")] == ["00Q2"]
    statuses = store.decision_statuses([a.decision_id for a in answers])
    assert statuses[answers[3].decision_id] is DecisionStatus.HELD_BACK


def test_pending_decisions_are_the_planned_ones_of_that_object(store: Store, ns: str) -> None:
    answers = store.log_decisions([decision(ns, f"00Q{i}") for i in range(6)])
    store.log_decisions([decision(ns + "_other", "00Q9")])
    store.add_event(answers[0].decision_id, DecisionStatus.WRITTEN)
    store.add_event(answers[1].decision_id, DecisionStatus.FAILED)
    store.add_event(answers[2].decision_id, DecisionStatus.CONFLICT)
    store.add_event(answers[3].decision_id, DecisionStatus.SKIPPED)
    store.add_event(answers[4].decision_id, DecisionStatus.FAILED)
    store.add_event(answers[4].decision_id, DecisionStatus.PLANNED, detail="retry after a transient failure")

    pending = store.pending_decisions("salesforce", ns)

    assert [d.record_id for d in pending] == ["00Q4", "00Q5"]
    assert all(d.status is DecisionStatus.PLANNED for d in pending)
