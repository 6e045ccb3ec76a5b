"""Re-evaluate exactly the records a CRM webhook named: fetch fresh, store, decide, write back.

A webhook says "these records changed"; it does not carry their whole state (HubSpot sends one
property, Salesforce's Outbound Message only what the admin chose). So the named records are read
from the CRM (``connector.fetch``, batched), their snapshots stored, and they are evaluated with
the rules and written back exactly as a sync's page would be. The incremental watermark is not
touched: the next scheduled sync still reads everything changed since its own last page.

Ids are coalesced (:func:`enqueue_reevaluation`): they join a per-object pending set in Redis, and
at most :data:`DRAINER_SLOTS` drainer jobs per object take them in batches, so a burst of webhooks
costs a few job start-ups, not one per delivery. :func:`webhook_job` is the one-batch form.

Baton's own writes come back as webhooks too (HubSpot and Salesforce both notify about API
changes). That does not loop: re-evaluating a record Baton just wrote finds the CRM already holding
the decided values, so nothing is planned or written. Rules that contradict each other for a
record would loop, so :func:`flapping` stops webhook re-evaluation of a record whose stage Baton
keeps flipping.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

import redis

from app.pipeline.context import PipelineContext
from app.pipeline.jobs import _counted, _enqueue_next, _record, context, writeback_job
from app.pipeline.runs import RunTracker
from app.pipeline.steps import StepResult, evaluate_records, write_back
from app.queueing import baton_job, get_queue
from app.queueing.enqueue import enqueue_unique
from app.queueing.jobids import job_id
from app.queueing.names import EVALUATE_QUEUE, WRITEBACK_QUEUE
from app.store import DecisionStatus, new_id
from connectors.records import Record

#: Most ids one re-evaluation job fetches (two HubSpot batch reads, one Salesforce SOQL IN list).
MAX_IDS_PER_JOB = 200
JOB_KIND = "webhook"
log = logging.getLogger(__name__)
#: Flapping guard: a record whose stage Baton wrote this many times within the window is left to
#: the scheduled sync instead of being re-evaluated by webhook (see :func:`flapping`).
FLAP_LIMIT = 2
FLAP_WINDOW = dt.timedelta(minutes=10)


def fetch_and_store(ctx: PipelineContext, crm: str, object_name: str, ids: Sequence[str],
                    result: StepResult) -> list[Record]:
    """The named records as the CRM has them now, stored as snapshots (watermark untouched)."""
    ctx.limiter(crm).wait_and_acquire(1, max_wait_s=5.0)
    records = [r for r in ctx.connector(crm).fetch(object_name, list(ids)) if not r.deleted]
    result.counts["read"] += len(records)
    missing = set(ids) - {r.id for r in records}
    if missing:
        # Deleted (or archived) since the webhook was sent: nothing to decide about them.
        result.counts["deleted"] += ctx.store.mark_deleted(crm, object_name, sorted(missing))
    if records:
        ctx.store.upsert_records(records)
    return records


def reevaluate_records(ctx: PipelineContext, crm: str, object_name: str, ids: Sequence[str], *,
                       run_id: str | None = None) -> StepResult:
    """Fetch, store and decide about ``ids``; the result's ``decision_ids`` are the writes due."""
    result = StepResult()
    records = fetch_and_store(ctx, crm, object_name, ids, result)
    steady = [r for r in records if not flapping(ctx, crm, object_name, r.id)]
    result.counts["flapping"] += len(records) - len(steady)
    decided = evaluate_records(ctx, crm, object_name, steady, run_id=run_id)
    result.counts.update(decided.counts)
    result.by_rule.update(decided.by_rule)
    result.decision_ids = decided.decision_ids
    return result


def flapping(ctx: PipelineContext, crm: str, object_name: str, record_id: str) -> bool:
    """True when Baton wrote this record's stage :data:`FLAP_LIMIT` times within :data:`FLAP_WINDOW`.

    Why: Baton's own writes come back as webhooks. When the rules contradict each other for a
    record (e.g. a hand-raiser qualifies while "no activity for 90 days" recycles it), each
    re-evaluation would undo the previous one, and webhooks would turn that into a hot loop
    against the CRM's API limits. The record is then left to the scheduled sync (and logged), so
    the flip happens at most once per sync, where a person can see it in the audit log.
    """
    since = ctx.now() - FLAP_WINDOW
    recent = [d for d in ctx.store.record_history(crm, object_name, record_id, limit=FLAP_LIMIT + 2)
              if d.status is DecisionStatus.WRITTEN and d.from_stage != d.to_stage and d.decided_at >= since]
    if len(recent) < FLAP_LIMIT:
        return False
    log.warning("%s %s %s: stage written %d times in %s; not re-evaluating it by webhook (rules flapping: %s)",
                crm, object_name, record_id, len(recent), FLAP_WINDOW,
                ", ".join(f"{d.from_stage}->{d.to_stage} by {d.rule_id}" for d in recent))
    return True


@_counted
@baton_job
def webhook_job(crm: str, object_name: str, ids: list[str], run_id: str) -> dict[str, int]:
    """Re-evaluate the records a webhook named; queue write-back per batch of planned decisions.

    (The one-batch form: :func:`webhook_drain_job` is what :func:`enqueue_reevaluation` queues.)
    """
    ctx = context()
    tracker = RunTracker(ctx.redis, run_id)
    result = StepResult()
    try:
        result = reevaluate_records(ctx, crm, object_name, ids, run_id=run_id)
    finally:
        _record(ctx, tracker, crm, object_name, result)
    _enqueue_writes(ctx, crm, object_name, result.decision_ids, run_id)
    return dict(result.counts)


def _write_batch_size(ctx: PipelineContext, crm: str) -> int:
    return ctx.config.write_back.batch_size.salesforce if crm == "salesforce" else \
        ctx.config.write_back.batch_size.hubspot


def _enqueue_writes(ctx: PipelineContext, crm: str, object_name: str, decision_ids: list[str], run_id: str) -> None:
    if not ctx.config.write_back.enabled:
        return
    size = _write_batch_size(ctx, crm)
    for start in range(0, len(decision_ids), size):
        _enqueue_next(ctx.redis, WRITEBACK_QUEUE, writeback_job, "writeback", crm, object_name,
                      decision_ids[start:start + size], run_id)


# ------------------------------------------------------------------ coalescing: pending ids + drainers
PENDING_KEY = "baton:webhook:pending:{crm}:{object}"
DRAINER_KEY = "baton:webhook:drainer:{crm}:{object}:{slot}"
DRAINER_SLOTS = 2
"""Drainers per object at most: more ids arriving while they work simply join the pending set."""
DRAINER_TTL_S = 60
LINGER_S = 0.25
"""How long an idle drainer waits for more ids before ending: shorter than a new job's start-up."""
DRAIN_BUDGET_S = 30.0
"""A drainer hands over to a fresh job after this long, so one busy object cannot hog a worker."""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def enqueue_reevaluation(connection: redis.Redis, crm: str, object_name: str, ids: Sequence[str]) -> list[str]:
    """Queue re-evaluation of ``ids``: add them to the object's pending set and make sure a
    drainer job is queued or running; the drainer's job id (empty when one is already running).

    Why coalesce: each RQ job pays a fixed start-up cost (the work horse builds its context), so
    one job per delivery cannot keep up with bursts. Ids that arrive while a drainer works are
    taken by its next loop, in batches of up to :data:`MAX_IDS_PER_JOB`; an id named twice before
    it is taken is evaluated once (a set), which is the "dedupe by content" of this path.
    """
    unique = sorted(dict.fromkeys(str(i) for i in ids))
    if not unique:
        return []
    connection.sadd(PENDING_KEY.format(crm=crm, object=object_name), *unique)
    started = _start_drainer(connection, crm, object_name)
    return [started] if started else []


def _start_drainer(connection: redis.Redis, crm: str, object_name: str) -> str | None:
    """Claim a free drainer slot and queue a drainer for it; None when every slot is busy."""
    for slot in range(DRAINER_SLOTS):
        token = new_id().replace("-", "")[:16]
        if connection.set(DRAINER_KEY.format(crm=crm, object=object_name, slot=slot), token, nx=True,
                          ex=DRAINER_TTL_S):
            the_job_id = job_id(JOB_KIND, crm, object_name, slot, token)
            enqueue_unique(get_queue(EVALUATE_QUEUE, connection), webhook_drain_job, job_id=the_job_id,
                           args=(crm, object_name, slot, token))
            return the_job_id
    return None


@baton_job
def webhook_drain_job(crm: str, object_name: str, slot: int, token: str) -> dict[str, int]:
    """Take pending ids in batches, re-evaluate them (fresh from the CRM) and write back, until the
    pending set is empty (or the time budget is spent, then hand over to a new drainer).

    The write-back of a batch runs in this job (one job start instead of two: latency); a batch
    whose write fails is handed to :func:`app.pipeline.jobs.writeback_job`, which retries it.
    If re-evaluation fails, the batch's ids go back to the pending set before the error
    propagates, so the retried job (or another drainer) takes them again.
    """
    ctx = context()
    connection = ctx.redis
    pending = PENDING_KEY.format(crm=crm, object=object_name)
    flag = DRAINER_KEY.format(crm=crm, object=object_name, slot=slot)
    run_id = job_id(JOB_KIND, crm, object_name, slot, token)
    totals = StepResult()
    deadline = time.monotonic() + DRAIN_BUDGET_S
    while time.monotonic() < deadline:
        connection.set(flag, token, xx=True, ex=DRAINER_TTL_S)         # still mine: keep it alive
        batch = [i.decode() if isinstance(i, bytes) else str(i)
                 for i in (connection.spop(pending, MAX_IDS_PER_JOB) or [])]
        if not batch and _linger(connection, pending, deadline):
            continue
        if not batch:
            connection.eval(_RELEASE_LUA, 1, flag, token)
            # An id added after the SPOP but before the release found the slot taken: look again.
            if connection.scard(pending) and connection.set(flag, token, nx=True, ex=DRAINER_TTL_S):
                continue
            return dict(totals.counts)
        _drain_batch(ctx, crm, object_name, batch, run_id, totals, pending, flag, token)
    connection.eval(_RELEASE_LUA, 1, flag, token)
    if connection.scard(pending):
        _start_drainer(connection, crm, object_name)
    return dict(totals.counts)


def _linger(connection: redis.Redis, pending: str, deadline: float) -> bool:
    """Wait up to :data:`LINGER_S` for more ids; True when some arrived (keep draining)."""
    until = min(time.monotonic() + LINGER_S, deadline)
    while time.monotonic() < until:
        if connection.scard(pending):
            return True
        time.sleep(0.01)
    return False


def _drain_batch(ctx: PipelineContext, crm: str, object_name: str, batch: list[str], run_id: str,
                 totals: StepResult, pending: str, flag: str, token: str) -> None:
    try:
        result = reevaluate_records(ctx, crm, object_name, batch, run_id=run_id)
    except BaseException:
        ctx.redis.sadd(pending, *batch)
        ctx.redis.eval(_RELEASE_LUA, 1, flag, token)
        raise
    totals.counts.update(result.counts)
    if not ctx.config.write_back.enabled:
        return
    size = _write_batch_size(ctx, crm)
    for start in range(0, len(result.decision_ids), size):
        chunk = result.decision_ids[start:start + size]
        try:
            totals.counts.update(write_back(ctx, crm, object_name, chunk).counts)
        except Exception as exc:  # noqa: BLE001 - any write failure: the write-back job retries it
            log.warning("%s %s: write-back of %d decision(s) handed to the write-back queue (%s)",
                        crm, object_name, len(chunk), type(exc).__name__)
            _enqueue_next(ctx.redis, WRITEBACK_QUEUE, writeback_job, "writeback", crm, object_name, chunk, run_id)
