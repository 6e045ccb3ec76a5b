"""The three steps of the loop, as plain functions of a :class:`PipelineContext`.

RQ jobs (:mod:`app.pipeline.jobs`) and the in-process runner call the same functions:

1. :func:`sync_pages` reads changed records page by page, stores snapshots and the watermark
   atomically per page, and yields the ids that really changed.
2. :func:`evaluate` decides with the active rules, plans the writes (only differing values; manual
   changes held back) and logs every decision, idempotently.
3. :func:`write_back` re-reads the records (verify), skips what a person changed since the read,
   writes the rest in batches and logs the CRM's answer per record.

Every step is safe to run twice: decisions carry idempotency keys and the write step re-checks the
CRM before writing, so a retried job (or one whose worker died) neither loses nor duplicates writes.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.store import DecisionEvent, DecisionStatus, Hold, LastWrite, NewDecision
from connectors.errors import RateLimited, RetriableError
from connectors.records import FieldUpdate, Record, Watermark

from app.pipeline.context import PipelineContext
from app.pipeline.planner import Hold as PlannerHold
from app.pipeline.planner import PlanInput
from app.pipeline.translate import engine_inputs
from app.pipeline.values import comparable, jsonable, same_value


@dataclass
class StepResult:
    counts: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    decision_ids: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- sync
def sync_pages(ctx: PipelineContext, crm: str, object_name: str, *, full: bool = False,
               persist: bool = True, result: StepResult | None = None) -> Iterator[list[Record]]:
    """Read changed records page by page and yield, per page, those to evaluate.

    With ``persist`` (a real sync) the page's snapshots and the watermark are stored atomically and
    only records whose CRM values differ from their snapshot are yielded. Without it (a dry run)
    nothing is stored and every record read is yielded.
    """
    result = result if result is not None else StepResult()
    connector, store = ctx.connector(crm), ctx.store
    section = ctx.crm_config(crm)
    since = None if (full or not persist) else store.get_watermark(crm, object_name)
    limiter = ctx.limiter(crm)
    kind = "search" if crm == "hubspot" else "api"      # HubSpot limits CRM search separately (4-5/s)
    limiter.wait_and_acquire(1, kind, max_wait_s=5.0)
    for page in connector.read_changed(object_name, since, lookback=section.schedule.lookback):
        if not page:                      # an empty incremental read: nothing to store, no new watermark
            continue
        result.counts["read"] += len(page)
        _observe_limits(ctx, crm)
        if persist:
            changed_ids = set(_changed_ids(ctx, crm, object_name, page))
            with store.unit_of_work() as unit:
                unit.upsert_records(page)
                unit.set_watermark(crm, object_name, max(r.watermark for r in page))
            page = [r for r in page if r.id in changed_ids]
        result.counts["changed"] += len(page)
        if page:
            yield page
        limiter.wait_and_acquire(1, kind, max_wait_s=5.0)
    if persist:
        deleted = connector.deleted_since(object_name, since)
        if deleted:
            result.counts["deleted"] += store.mark_deleted(crm, object_name, deleted)


def _changed_ids(ctx: PipelineContext, crm: str, object_name: str, page: Sequence[Record]) -> list[str]:
    """Records new to the store, or whose CRM values differ from the stored snapshot."""
    stored = ctx.store.get_snapshots(crm, object_name, [r.id for r in page])
    changed = []
    for record in page:
        snapshot = stored.get(record.id)
        if snapshot is None or snapshot.deleted or any(
                not same_value(snapshot.raw.get(k), v) for k, v in record.raw.items()):
            changed.append(record.id)
    return changed


def _observe_limits(ctx: PipelineContext, crm: str) -> None:
    """Feed the CRM's own rate-limit signals to the shared limiter."""
    connector = ctx.connector(crm)
    limiter = ctx.limiter(crm)
    usage = getattr(connector, "api_usage", None)            # Salesforce: Sforce-Limit-Info
    if usage is not None and getattr(usage, "limit", 0):
        limiter.observe(int(usage.limit) - int(usage.used), int(usage.limit), 24 * 3600.0, bucket="daily")
    status = getattr(connector, "rate_limit", None)          # HubSpot: X-HubSpot-RateLimit-*
    if status is not None and getattr(status, "max", None):
        window = (getattr(status, "interval_ms", None) or 10_000) / 1000.0
        limiter.observe(int(status.remaining or 0), int(status.max), window)


# --------------------------------------------------------------------------------------- evaluate
def evaluate(ctx: PipelineContext, crm: str, object_name: str, ids: Sequence[str], *,
             run_id: str | None = None) -> StepResult:
    """Decide and plan for the given records, from their stored snapshots; log the decisions."""
    snapshots = ctx.store.get_snapshots(crm, object_name, list(ids))
    records = [s.to_record() for s in snapshots.values() if not s.deleted]
    return evaluate_records(ctx, crm, object_name, records, run_id=run_id)


def evaluate_records(ctx: PipelineContext, crm: str, object_name: str, records: Sequence[Record], *,
                     run_id: str | None = None, dry_run: bool = False) -> StepResult:
    """Decide and plan for ``records``; log the decisions (a dry run logs nothing)."""
    result = StepResult()
    store, planner = ctx.store, ctx.planner(crm, object_name)
    kind = planner.kind
    if not records:
        return result
    if kind not in ctx.ruleset.kinds or not (planner.rules.rules or planner.rules.scoring):
        result.counts["not_decided"] += len(records)     # nothing in the rules decides about this kind
        return result
    now = ctx.now()
    decisions = ctx.engine.evaluate(kind, engine_inputs(ctx.ruleset, kind, records), now.date())
    written = store.last_written_values(crm, object_name, [r.id for r in records])
    holds = store.active_holds(crm, object_name, [r.id for r in records], at=now)
    new_decisions: list[NewDecision] = []
    new_holds: list[Hold] = []
    for record, decision in zip(records, decisions, strict=True):
        plan = planner.plan(PlanInput(
            record, decision,
            last_written={f: w.value for f, w in written.get(record.id, {}).items()},
            active_holds={f: PlannerHold(h.field, h.observed_value, h.held_until, h.reason)
                          for f, h in holds.get(record.id, {}).items()}), now)
        result.counts["evaluated"] += 1
        if plan.has_changes:
            result.by_rule[decision.rule_id or "score"] += 1
            new_decisions.append(_new_decision(crm, object_name, record, decision, plan.changes,
                                               plan.canonical_changes, run_id, now))
        if plan.held_back:
            result.counts["held_back"] += 1
            held = {f: v for f, v in planner.desired(decision)[0].items() if f in plan.held_fields}
            new_decisions.append(_new_decision(
                crm, object_name, record, decision, held, {"stage": {"from": decision.from_stage,
                                                                     "to": decision.to_stage}},
                run_id, now, status=DecisionStatus.HELD_BACK, detail=plan.hold_reason))
            new_holds += [Hold(crm, object_name, record.id, h.field, h.observed_value, h.held_until, h.reason)
                          for h in plan.new_holds]
    if dry_run:
        result.counts["planned"] = sum(1 for d in new_decisions if d.status is DecisionStatus.PLANNED)
        return result
    _log(ctx, crm, object_name, new_decisions, new_holds, now, result)
    return result


def _new_decision(crm: str, object_name: str, record: Record, decision: Any, changes: dict[str, Any],
                  canonical: dict[str, dict[str, Any]], run_id: str | None, now: dt.datetime, *,
                  status: DecisionStatus = DecisionStatus.PLANNED, detail: str | None = None) -> NewDecision:
    explanation = {"decision": decision.to_json(),
                   "write": {f: jsonable(v) for f, v in changes.items()},
                   "read": {f: jsonable(record.raw.get(f)) for f in changes}}
    return NewDecision(
        crm=crm, object=object_name, record_id=record.id, kind=record.kind.value,
        ruleset_version=decision.ruleset_version, changes=canonical,
        reason=(detail if status is DecisionStatus.HELD_BACK else decision.reason) or "score update",
        rule_id=decision.rule_id, from_stage=decision.from_stage, to_stage=decision.to_stage,
        explanation=explanation, run_id=run_id, record_modified_at=record.modified_at, decided_at=now,
        status=status, detail=detail)


def _log(ctx: PipelineContext, crm: str, object_name: str, decisions: list[NewDecision], holds: list[Hold],
         now: dt.datetime, result: StepResult) -> None:
    store = ctx.store
    with store.unit_of_work() as unit:
        logged = unit.log_decisions(decisions) if decisions else []
        if holds:
            unit.set_holds(holds)
            # The person's value becomes the baseline: when the hold ends, Baton may write again,
            # and only a new manual change starts a new hold.
            unit.record_written_values(LastWrite(h.crm, h.object, h.record_id, h.field, h.observed_value, now)
                                       for h in holds)
    for new, answer in zip(decisions, logged, strict=True):
        if new.status is DecisionStatus.PLANNED and answer.status is DecisionStatus.PLANNED:
            result.decision_ids.append(answer.decision_id)
    result.counts["planned"] += len(result.decision_ids)


# ------------------------------------------------------------------------------------- write back
def write_back(ctx: PipelineContext, crm: str, object_name: str, decision_ids: Sequence[str], *,
               result: StepResult | None = None) -> StepResult:
    """Write planned decisions to the CRM; log one answer per decision."""
    result = result if result is not None else StepResult()
    store, connector = ctx.store, ctx.connector(crm)
    statuses = store.decision_statuses(list(decision_ids))
    pending = [store.get_decision(i) for i in decision_ids if statuses.get(i) is DecisionStatus.PLANNED]
    pending = [d for d in pending if d is not None]
    result.counts["already_done"] += len(decision_ids) - len(pending)
    if not pending:
        return result
    current = _verify(ctx, crm, object_name, [d.record_id for d in pending])
    updates, events = _updates_after_verify(pending, current, result,
                                            getattr(connector, "cleared_before_set", frozenset()))
    if updates:
        limiter = ctx.limiter(crm)
        batch = ctx.config.write_back.batch_size.salesforce if crm == "salesforce" else \
            ctx.config.write_back.batch_size.hubspot
        for _ in range(-(-len(updates) // batch)):          # one token per call the connector will make
            limiter.wait_and_acquire(1, max_wait_s=5.0)
        try:
            outcomes = connector.write(object_name, [u for _, u in updates])
        except RateLimited as exc:
            if exc.retry_after:
                limiter.penalise(exc.retry_after)
            store.add_events(events)
            raise
        events += _events_for(ctx, crm, object_name, updates, outcomes, result)
        _observe_limits(ctx, crm)
    store.add_events(events)
    if result.counts["retry_later"]:
        raise RetriableError(f"{result.counts['retry_later']} record(s) were locked; retrying them later",
                             crm=crm, operation="write")
    return result


def _verify(ctx: PipelineContext, crm: str, object_name: str, ids: list[str]) -> dict[str, Record] | None:
    if not ctx.config.write_back.verify_before_write:
        return None
    limiter, per_call = ctx.limiter(crm), (200 if crm == "salesforce" else 100)
    for _ in range(-(-len(ids) // per_call)):
        limiter.wait_and_acquire(1, max_wait_s=5.0)
    return {r.id: r for r in ctx.connector(crm).fetch(object_name, ids)}


def _updates_after_verify(pending: list[Any], current: dict[str, Record] | None, result: StepResult,
                          cleared_by_us: frozenset[str] = frozenset()
                          ) -> tuple[list[tuple[Any, FieldUpdate]], list[DecisionEvent]]:
    """The writes still due, and events for decisions that need none (done already, or conflicting).

    ``cleared_by_us``: fields the connector empties before setting them; found empty, they are
    Baton's own half-finished write (e.g. a 429 between HubSpot's clear and set), not a person's edit.
    """
    updates: list[tuple[Any, FieldUpdate]] = []
    events: list[DecisionEvent] = []
    for decision in pending:
        write = dict(decision.explanation.get("write", {}))
        read = decision.explanation.get("read", {})
        fresh = current.get(decision.record_id) if current is not None else None
        if current is not None and fresh is None:
            events.append(DecisionEvent(decision.decision_id, DecisionStatus.FAILED,
                                        detail="the record no longer exists in the CRM"))
            result.counts["failed"] += 1
            continue
        if fresh is not None:
            if all(same_value(fresh.raw.get(f), v) for f, v in write.items()):
                events.append(DecisionEvent(decision.decision_id, DecisionStatus.WRITTEN,
                                            detail="the CRM already had these values"))
                result.counts["written"] += 1
                continue
            moved = [f for f in write if not same_value(fresh.raw.get(f), read.get(f))
                     and not same_value(fresh.raw.get(f), write[f])
                     and not (f in cleared_by_us and comparable(fresh.raw.get(f)) is None)]
            if moved:
                events.append(DecisionEvent(
                    decision.decision_id, DecisionStatus.CONFLICT,
                    crm_answer={f: jsonable(fresh.raw.get(f)) for f in moved},
                    detail=f"changed in the CRM since Baton read it ({', '.join(moved)}); not overwritten"))
                result.counts["conflict"] += 1
                continue
            write = {f: v for f, v in write.items() if not same_value(fresh.raw.get(f), v)}
        previous = {f: (fresh.raw.get(f) if fresh is not None else read.get(f)) for f in write}
        updates.append((decision, FieldUpdate(decision.object, decision.record_id, write, previous)))
    return updates, events


def _events_for(ctx: PipelineContext, crm: str, object_name: str, updates: list[tuple[Any, FieldUpdate]],
                outcomes: Sequence[Any], result: StepResult) -> list[DecisionEvent]:
    events: list[DecisionEvent] = []
    written: list[LastWrite] = []
    now = ctx.now()
    for (decision, update), outcome in zip(updates, outcomes, strict=True):
        answer = {"ok": outcome.ok, "error_code": outcome.error_code, "message": outcome.message,
                  "fields": list(outcome.fields)}
        if outcome.ok:
            events.append(DecisionEvent(decision.decision_id, DecisionStatus.WRITTEN, crm_answer=answer))
            written += [LastWrite(crm, object_name, update.id, f, jsonable(v), now, decision.decision_id)
                        for f, v in update.changes.items()]
            result.counts["written"] += 1
        elif outcome.retriable:
            result.counts["retry_later"] += 1        # stays planned: the retried job writes it
        else:
            events.append(DecisionEvent(decision.decision_id, DecisionStatus.FAILED, crm_answer=answer,
                                        detail=outcome.message))
            result.counts["failed"] += 1
    if written:
        ctx.store.record_written_values(written)
    return events
