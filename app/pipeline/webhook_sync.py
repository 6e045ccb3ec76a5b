"""Re-evaluate exactly the records a CRM webhook named: fetch fresh, store, decide, queue the writes.

A webhook says "these records changed"; it does not carry their whole state (HubSpot sends one
property, Salesforce's Outbound Message only what the admin chose). So the job reads the named
records from the CRM (``connector.fetch``, batched), stores their snapshots, evaluates them with
the active rules and queues write-back jobs, exactly as :func:`app.pipeline.jobs.evaluate_job`
does for a page of a sync. The incremental watermark is not touched: the next scheduled sync still
reads everything changed since its own last page.

Baton's own writes come back as webhooks too (HubSpot and Salesforce both notify about API
changes). That does not loop: re-evaluating a record Baton just wrote finds the CRM already holding
the decided values, so the planner plans nothing and nothing is written.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from rq.job import Job, JobStatus

from app.queueing import baton_job, get_queue
from app.queueing.enqueue import EnqueueResult, enqueue_unique
from app.queueing.jobids import content_hash, job_id
from app.queueing.names import EVALUATE_QUEUE, WRITEBACK_QUEUE
from app.queueing.serializer import SERIALIZER
from connectors.records import Record

from app.pipeline.context import PipelineContext
from app.pipeline.jobs import _counted, _enqueue_next, _record, context, writeback_job
from app.pipeline.runs import RunTracker
from app.pipeline.steps import StepResult, evaluate_records

#: Most ids one re-evaluation job fetches (two HubSpot batch reads, one Salesforce SOQL IN list).
MAX_IDS_PER_JOB = 200
JOB_KIND = "webhook"


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
    decided = evaluate_records(ctx, crm, object_name, records, run_id=run_id)
    result.counts.update(decided.counts)
    result.by_rule.update(decided.by_rule)
    result.decision_ids = decided.decision_ids
    return result


@_counted
@baton_job
def webhook_job(crm: str, object_name: str, ids: list[str], run_id: str) -> dict[str, int]:
    """Re-evaluate the records a webhook named; queue write-back per batch of planned decisions."""
    ctx = context()
    tracker = RunTracker(ctx.redis, run_id)
    result = StepResult()
    try:
        result = reevaluate_records(ctx, crm, object_name, ids, run_id=run_id)
    finally:
        _record(ctx, tracker, crm, object_name, result)
    if ctx.config.write_back.enabled:
        size = ctx.config.write_back.batch_size.salesforce if crm == "salesforce" else \
            ctx.config.write_back.batch_size.hubspot
        for start in range(0, len(result.decision_ids), size):
            _enqueue_next(ctx.redis, WRITEBACK_QUEUE, writeback_job, "writeback", crm, object_name,
                          result.decision_ids[start:start + size], run_id)
    return dict(result.counts)


def webhook_run_id(crm: str, object_name: str, ids: Sequence[str]) -> str:
    """The run id of a re-evaluation: derived from its content, so duplicates share one run."""
    return job_id(JOB_KIND, crm, object_name, content_hash(sorted(ids)))


def enqueue_reevaluation(connection: redis.Redis, crm: str, object_name: str, ids: Sequence[str]) -> list[str]:
    """Queue re-evaluation of ``ids`` (deduplicated, sorted, split into jobs of at most
    :data:`MAX_IDS_PER_JOB`); the job ids, one per batch.

    The job id is a hash of the batch's content, so the same batch asked for twice while queued
    runs once. A batch whose job has already *started* is queued again under a second id: the
    running job may have fetched the records before this newer change, and dropping it would
    lose the change.
    """
    unique = sorted(dict.fromkeys(str(i) for i in ids))
    job_ids: list[str] = []
    for start in range(0, len(unique), MAX_IDS_PER_JOB):
        batch = unique[start:start + MAX_IDS_PER_JOB]
        job_ids.append(_enqueue_batch(connection, crm, object_name, batch))
    return job_ids


def _enqueue_batch(connection: redis.Redis, crm: str, object_name: str, batch: list[str]) -> str:
    run_id = webhook_run_id(crm, object_name, batch)
    result = _enqueue(connection, crm, object_name, batch, run_id, run_id)
    if result.enqueued or _status(connection, result.job_id) != JobStatus.STARTED:
        return result.job_id
    # The job with this content is running already: queue a follow-up (itself deduplicated).
    return _enqueue(connection, crm, object_name, batch, run_id, f"{run_id}-again").job_id


def _enqueue(connection: redis.Redis, crm: str, object_name: str, batch: list[str], run_id: str,
             the_job_id: str) -> EnqueueResult:
    tracker = RunTracker(connection, run_id)
    tracker.job_started()
    result = enqueue_unique(get_queue(EVALUATE_QUEUE, connection), webhook_job, job_id=the_job_id,
                            args=(crm, object_name, batch, run_id))
    if not result.enqueued:
        tracker.job_finished()
    return result


def _status(connection: redis.Redis, the_job_id: str) -> Any:
    try:
        return Job.fetch(the_job_id, connection=connection, serializer=SERIALIZER).get_status(refresh=False)
    except Exception:      # expired between the two calls: treat as not running
        return None
