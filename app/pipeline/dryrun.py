"""Dry run of a rules file: what it would do to every stored record, with nothing written.

Each stored snapshot (``store.iter_snapshots``) is evaluated with the candidate rules and planned
exactly as a real run plans it (the same :class:`Planner`, the same last-written values and manual
holds), so the report's transitions are the ones a real run would write. Nothing is logged, no
hold is set, no CRM is called.

The report (plain JSON data):

- ``transitions``: the matrix, one cell per (kind, from stage, to stage) with ``count`` and
  ``amount`` (the sum of opportunity amounts; leads have none);
- ``backward``: records that would move to an earlier stage (recycles included);
- ``recycled``: records a recycle rule would send back (e.g. qualified -> nurturing);
- ``diffs``: per record: id, from -> to, rule, reason, and the CRM fields that would change
  (``{field: {"from": old, "to": new}}``), stage moves first, at most ``limit`` of them;
- ``records``/``evaluated``/``would_change``/``held_back`` counts, and ``by_rule``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.pipeline.context import PipelineContext
from app.pipeline.planner import Hold as PlannerHold
from app.pipeline.planner import PlanInput, Planner, WritePlan
from app.pipeline.translate import engine_inputs, stage_fields_to_read
from app.pipeline.values import jsonable
from app.store import LastWrite, Snapshot, Store
from connectors.mapping import ObjectMapping
from connectors.records import Record
from rules.engine import Decision, Engine
from rules.ir import Ruleset
from rules.mapping import stage_rank
from rules.pyengine import PythonEngine

JsonDict = dict[str, Any]
DEFAULT_DIFF_LIMIT = 1000


@dataclass
class _Cell:
    count: int = 0
    amount: float = 0.0


@dataclass
class DryRunReport:
    """The accumulating report; :meth:`to_json` is what the API and ``baton rules plan`` show."""

    ruleset_version: str
    filename: str
    limit: int = DEFAULT_DIFF_LIMIT
    counts: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    cells: dict[tuple[str, str, str], _Cell] = field(default_factory=dict)
    backward: list[JsonDict] = field(default_factory=list)
    recycled: list[JsonDict] = field(default_factory=list)
    diffs: list[JsonDict] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        transitions = [{"kind": kind, "from": before, "to": after, "count": cell.count,
                        "amount": _number(cell.amount)}
                       for (kind, before, after), cell in sorted(self.cells.items())]
        moves = sorted(self.diffs, key=lambda d: (d["from"] == d["to"], d["crm"], d["object"], d["record_id"]))
        return {"filename": self.filename, "ruleset_version": self.ruleset_version,
                "records": self.counts["records"], "evaluated": self.counts["evaluated"],
                "would_change": self.counts["would_change"], "stage_moves": self.counts["stage_moves"],
                "held_back": self.counts["held_back"], "by_rule": dict(self.by_rule.most_common()),
                "transitions": transitions, "backward": self.backward, "recycled": self.recycled,
                "diffs": moves[:self.limit], "diffs_truncated": max(0, len(moves) - self.limit)}


def dry_run(ctx: PipelineContext, ruleset: Ruleset, *, filename: str = "<rules>",
            limit: int = DEFAULT_DIFF_LIMIT, now: dt.datetime | None = None,
            engine: Engine | None = None) -> JsonDict:
    """Evaluate ``ruleset`` against every stored snapshot of every configured object."""
    now = now or ctx.now()
    engine = engine or PythonEngine(ruleset)
    report = DryRunReport(ruleset.version, filename, limit)
    for crm in ctx.enabled_crms():
        for object_name, base in ctx.mappings(crm).items():
            kind = base.kind.value
            if kind not in ruleset.kinds:
                continue
            mapping = base.with_extra(stage_fields_to_read(ruleset, kind, crm))
            planner = Planner(ruleset, kind, crm, mapping.fields, writable=mapping.writable(),
                              hold_period=ctx.config.hold_period)
            for page in _pages(ctx.store, crm, object_name):
                _evaluate_page(ctx.store, engine, planner, mapping, page, now, report)
    return report.to_json()


def _pages(store: Store, crm: str, object_name: str) -> Iterator[list[Snapshot]]:
    yield from store.iter_snapshots(crm=crm, object=object_name, batch_size=500)


def _evaluate_page(store: Store, engine: Engine, planner: Planner, mapping: ObjectMapping,
                   page: list[Snapshot], now: dt.datetime, report: DryRunReport) -> None:
    report.counts["records"] += len(page)
    rules = planner.rules
    if not (rules.rules or rules.scoring):
        return
    crm, object_name = planner.crm, page[0].object
    ids = [s.id for s in page]
    written = store.last_written_values(crm, object_name, ids)
    records = [with_baton_writes(s, written.get(s.id, {}), mapping) for s in page]
    decisions = engine.evaluate(planner.kind, engine_inputs(planner.ruleset, planner.kind, records), now.date())
    holds = store.active_holds(crm, object_name, ids, at=now)
    for record, decision in zip(records, decisions, strict=True):
        report.counts["evaluated"] += 1
        plan = planner.plan(PlanInput(
            record, decision, last_written={f: w.value for f, w in written.get(record.id, {}).items()},
            active_holds={f: PlannerHold(h.field, h.observed_value, h.held_until, h.reason)
                          for f, h in holds.get(record.id, {}).items()}), now)
        if plan.held_back:
            report.counts["held_back"] += 1
        if plan.has_changes:
            _add(report, planner, record, decision, plan)


def with_baton_writes(snapshot: Snapshot, written: Mapping[str, LastWrite], mapping: ObjectMapping) -> Record:
    """The snapshot as the CRM has it now: with the values Baton wrote after it was stored.

    Why: a sync stores a snapshot, then writes; the stored raw values are from before the write
    until the next read. Planning against them would mistake Baton's own writes for a person's
    edits (and hold them back) and re-decide moves already made.
    """
    record = snapshot.to_record()
    newer = {f: w.value for f, w in written.items() if w.written_at > snapshot.last_seen}
    if not newer:
        return record
    raw = {**record.raw, **newer}
    canonical = mapping.to_canonical(raw)
    fields = dict(record.fields)
    fields.update({name: canonical[name] for name, crm_field in mapping.fields.items() if crm_field in newer})
    return replace(record, raw=raw, fields=fields)


def _add(report: DryRunReport, planner: Planner, record: Record, decision: Decision, plan: WritePlan) -> None:
    report.counts["would_change"] += 1
    report.by_rule[decision.rule_id or "score"] += 1
    _, origin = planner.desired(decision)
    stage_field = planner.rules.stage_field
    # A stage move only counts when the stage itself would be written (not held back).
    moves = decision.changed_stage and any(origin.get(f) == stage_field for f in plan.changes)
    before, after = decision.from_stage or "-", (decision.to_stage if moves else decision.from_stage) or "-"
    entry = {"crm": planner.crm, "object": record.object, "record_id": record.id, "kind": planner.kind,
             "from": before, "to": after, "rule": decision.rule_id, "reason": decision.reason,
             "amount": _amount(record),
             "changes": {f: {"from": jsonable(record.raw.get(f)), "to": jsonable(v)}
                         for f, v in sorted(plan.changes.items())}}
    report.diffs.append(entry)
    if not moves:
        return
    report.counts["stage_moves"] += 1
    cell = report.cells.setdefault((planner.kind, before, after), _Cell())
    cell.count += 1
    cell.amount += _amount(record) or 0.0
    summary = {k: entry[k] for k in ("crm", "object", "record_id", "kind", "from", "to", "rule", "reason")}
    if decision.kind == "recycle":
        report.recycled.append(summary)
    if _rank(planner, after) < _rank(planner, before):
        report.backward.append(summary)


def _rank(planner: Planner, stage: str) -> int:
    try:
        return stage_rank(planner.ruleset, planner.kind, stage)
    except KeyError:
        return -1


def _amount(record: Record) -> float | None:
    value = record.fields.get("amount")
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


__all__ = ["DEFAULT_DIFF_LIMIT", "DryRunReport", "dry_run", "dry_run_sync_job", "enqueue_dry_run_sync"]


# ------------------------------------------------------------- a dry-run sync on the workers
def enqueue_dry_run_sync(connection: Any, crm: str, object_name: str) -> str:
    """Queue a dry-run sync of one object (read from the CRM, decide, write nothing); its job id."""
    from app.queueing import SYNC_QUEUE, enqueue_unique, get_queue, sync_job_id

    job = sync_job_id(crm, object_name, "dry_run")
    enqueue_unique(get_queue(SYNC_QUEUE, connection), dry_run_sync_job, job_id=job, args=(crm, object_name))
    return job


def dry_run_sync_job(crm: str, object_name: str) -> dict[str, int]:
    """RQ job: :func:`app.pipeline.runner.run_inline` with ``dry_run=True`` for one object.

    The run is recorded in the store's sync runs (mode ``dry_run``); decisions are not logged.
    """
    from app.pipeline.jobs import context
    from app.pipeline.runner import run_inline

    summary = run_inline(context(), [(crm, object_name)], dry_run=True)
    return dict(summary.counts)
