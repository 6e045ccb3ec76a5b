"""The append-only decision log: decisions and their status events.

A decision is logged once (its idempotency key is unique); what happens to it afterwards is a
new event each time (planned -> written, held_back, failed, ...). Nothing is ever updated or
deleted: the current status of a decision is its latest event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.engine import Connection

from app.store.base import StoreMixin
from app.store.entities import Decision, DecisionEvent, DecisionStatus, LoggedDecision, NewDecision, new_id
from app.store.errors import UnknownDecision
from app.store.keys import decision_key
from app.store.models import Decision as DecisionRow
from app.store.models import DecisionEvent as EventRow
from app.store.models import table
from app.store.sql import chunks, insert_ignoring_conflicts
from app.store.types import utc_now

_D = table(DecisionRow)
_E = table(EventRow)


def _key_of(decision: NewDecision) -> str:
    return decision.idempotency_key or decision_key(
        decision.crm,
        decision.object,
        decision.record_id,
        decision.ruleset_version,
        decision.changes,
        decision.record_modified_at,
    )


def _decision_row(decision: NewDecision, decision_id: str, key: str, now: datetime) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "idempotency_key": key,
        "run_id": decision.run_id,
        "crm": decision.crm,
        "object": decision.object,
        "record_id": decision.record_id,
        "kind": decision.kind,
        "rule_id": decision.rule_id,
        "ruleset_version": decision.ruleset_version,
        "from_stage": decision.from_stage,
        "to_stage": decision.to_stage,
        "changes": decision.changes,
        "reason": decision.reason,
        "explanation": decision.explanation,
        "record_modified_at": decision.record_modified_at,
        "decided_at": decision.decided_at or now,
    }


def _event_row(event: DecisionEvent, now: datetime) -> dict[str, Any]:
    return {
        "decision_id": event.decision_id,
        "status": str(DecisionStatus(event.status)),
        "at": event.at or now,
        "crm_answer": event.crm_answer,
        "detail": event.detail,
    }


def _event(row: Any) -> DecisionEvent:
    return DecisionEvent(
        decision_id=row.decision_id,
        status=DecisionStatus(row.status),
        at=row.at,
        crm_answer=row.crm_answer,
        detail=row.detail,
        event_id=row.event_id,
    )


def _decision(row: Any, events: tuple[DecisionEvent, ...] = ()) -> Decision:
    status = DecisionStatus(row.status) if row.status else None
    return Decision(
        decision_id=row.decision_id,
        idempotency_key=row.idempotency_key,
        run_id=row.run_id,
        crm=row.crm,
        object=row.object,
        record_id=row.record_id,
        kind=row.kind,
        rule_id=row.rule_id,
        ruleset_version=row.ruleset_version,
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        changes=row.changes,
        reason=row.reason,
        explanation=row.explanation,
        record_modified_at=row.record_modified_at,
        decided_at=row.decided_at,
        status=status,
        events=events,
    )


def _with_status() -> Select[Any]:
    """Decisions joined with their latest event's status (NULL if a decision has no event)."""
    latest = (
        select(func.max(_E.c.event_id))
        .where(_E.c.decision_id == _D.c.decision_id)
        .correlate(_D)
        .scalar_subquery()
    )
    return select(_D, _E.c.status).select_from(_D.outerjoin(_E, _E.c.event_id == latest))


def _status_by_id(connection: Connection, ids: Sequence[str]) -> dict[str, DecisionStatus | None]:
    found: dict[str, DecisionStatus | None] = {}
    for chunk in chunks(list(ids)):
        rows = connection.execute(_with_status().where(_D.c.decision_id.in_(chunk)))
        found.update((row.decision_id, DecisionStatus(row.status) if row.status else None) for row in rows)
    return found


def _answers(
    keys: Sequence[str], stored: dict[str, str], created: set[str], statuses: dict[str, DecisionStatus | None]
) -> list[LoggedDecision]:
    """One answer per input, in order; of repeated keys only the first counts as created."""
    seen: set[str] = set()
    answers = []
    for key in keys:
        answers.append(
            LoggedDecision(stored[key], key, key in created and key not in seen, statuses.get(stored[key]))
        )
        seen.add(key)
    return answers


class DecisionsMixin(StoreMixin):
    def log_decisions(self, decisions: Sequence[NewDecision]) -> list[LoggedDecision]:
        """Log decisions with their first event (``NewDecision.status``), idempotently.

        A decision whose idempotency key is already logged is not logged again and gets no new
        event: the answer says ``created=False`` and gives its current status, so a retried job can
        see that a write already happened. Answers are in input order.
        """
        now = utc_now()
        keys = [_key_of(d) for d in decisions]
        first_of_key: dict[str, NewDecision] = {}
        for key, item in zip(keys, decisions, strict=True):
            first_of_key.setdefault(key, item)
        proposed = {key: new_id() for key in first_of_key}
        with self._begin() as connection:
            rows = [_decision_row(d, proposed[k], k, now) for k, d in first_of_key.items()]
            insert_ignoring_conflicts(connection, _D, rows, keys=("idempotency_key",))
            stored = self._ids_by_key(connection, list(proposed))
            created = {k for k, decision_id in stored.items() if decision_id == proposed[k]}
            events = [
                DecisionEvent(stored[k], first_of_key[k].status, now, None, first_of_key[k].detail)
                for k in created
            ]
            if events:
                connection.execute(insert(_E), [_event_row(e, now) for e in events])
            # Only decisions logged before need a lookup: a new one's status is its first event.
            statuses = _status_by_id(connection, [stored[k] for k in stored if k not in created])
        statuses.update((stored[k], DecisionStatus(first_of_key[k].status)) for k in created)
        return _answers(keys, stored, created, statuses)

    @staticmethod
    def _ids_by_key(connection: Connection, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(keys):
            rows = connection.execute(
                select(_D.c.idempotency_key, _D.c.decision_id).where(_D.c.idempotency_key.in_(chunk))
            )
            found.update((row.idempotency_key, row.decision_id) for row in rows)
        return found

    def add_events(self, events: Iterable[DecisionEvent]) -> int:
        """Append status events (e.g. ``written`` with the CRM's answer) in one statement."""
        now = utc_now()
        rows = [_event_row(e, now) for e in events]
        if not rows:
            return 0
        with self._begin() as connection:
            known = set(_status_by_id(connection, list({row["decision_id"] for row in rows})))
            unknown = sorted({row["decision_id"] for row in rows} - known)
            if unknown:
                raise UnknownDecision(
                    f"no decision {unknown[0]!r}"
                    + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                )
            connection.execute(insert(_E), rows)
        return len(rows)

    def add_event(
        self,
        decision_id: str,
        status: DecisionStatus | str,
        *,
        crm_answer: Any = None,
        detail: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one status event to a decision."""
        self.add_events([DecisionEvent(decision_id, DecisionStatus(status), at, crm_answer, detail)])

    def get_decision(self, decision_id: str) -> Decision | None:
        """One decision with all its events (oldest first), or None."""
        with self._begin(read_only=True) as connection:
            row = connection.execute(_with_status().where(_D.c.decision_id == decision_id)).first()
            if row is None:
                return None
            return _decision(row, self._events_of(connection, [decision_id]).get(decision_id, ()))

    def decision_statuses(self, decision_ids: Sequence[str]) -> dict[str, DecisionStatus | None]:
        """The current status of each given decision."""
        with self._begin(read_only=True) as connection:
            return _status_by_id(connection, decision_ids)

    def record_history(
        self, crm: str, object: str, record_id: str, *, limit: int | None = None
    ) -> list[Decision]:
        """Every decision about one record, newest first, each with all its events (oldest first)."""
        query = (
            _with_status()
            .where(_D.c.crm == crm, _D.c.object == object, _D.c.record_id == record_id)
            .order_by(_D.c.decided_at.desc(), _D.c.decision_id.desc())
            .limit(limit)
        )
        with self._begin(read_only=True) as connection:
            rows = list(connection.execute(query))
            events = self._events_of(connection, [row.decision_id for row in rows])
        return [_decision(row, events.get(row.decision_id, ())) for row in rows]

    def run_decisions(self, run_id: str, *, status: DecisionStatus | str | None = None) -> list[Decision]:
        """The decisions of one run (in decision order) with their current status."""
        query = _with_status().where(_D.c.run_id == run_id)
        if status is not None:
            query = query.where(_E.c.status == str(DecisionStatus(status)))
        with self._begin(read_only=True) as connection:
            rows = connection.execute(query.order_by(_D.c.decided_at, _D.c.record_id, _D.c.decision_id))
            return [_decision(row) for row in rows]

    def counts_by_rule(self, run_id: str) -> dict[str, int]:
        """How many decisions of a run each rule made (rule id ``""`` for decisions without one)."""
        query = select(_D.c.rule_id, func.count()).where(_D.c.run_id == run_id).group_by(_D.c.rule_id)
        with self._begin(read_only=True) as connection:
            return {rule or "": int(count) for rule, count in connection.execute(query)}

    def counts_by_status(self, run_id: str) -> dict[str, int]:
        """How many decisions of a run are in each current status."""
        inner = _with_status().where(_D.c.run_id == run_id).subquery()
        query = select(inner.c.status, func.count()).group_by(inner.c.status)
        with self._begin(read_only=True) as connection:
            return {status or "": int(count) for status, count in connection.execute(query)}

    def pending_decisions(self, crm: str, object: str) -> list[Decision]:
        """Decisions of (crm, object) still ``planned``: neither written, failed, nor otherwise
        settled. A worker that starts up resumes these (oldest first) after one died mid-write."""
        query = (
            _with_status()
            .where(_D.c.crm == crm, _D.c.object == object, _E.c.status == str(DecisionStatus.PLANNED))
            .order_by(_D.c.decided_at, _D.c.record_id, _D.c.decision_id)
        )
        with self._begin(read_only=True) as connection:
            return [_decision(row) for row in connection.execute(query)]

    @staticmethod
    def _events_of(connection: Connection, ids: Sequence[str]) -> dict[str, tuple[DecisionEvent, ...]]:
        grouped: dict[str, list[DecisionEvent]] = {}
        for chunk in chunks(list(ids)):
            rows = connection.execute(select(_E).where(_E.c.decision_id.in_(chunk)).order_by(_E.c.event_id))
            for row in rows:
                grouped.setdefault(row.decision_id, []).append(_event(row))
        return {decision_id: tuple(events) for decision_id, events in grouped.items()}
