"""RQ jobs of the loop: sync -> evaluate -> write back, each on its own queue.

Job ids are deterministic (:mod:`app.queueing.jobids`), so a duplicate trigger (two webhooks, a
scheduler tick during a manual sync) finds the job already in flight and is dropped. Arguments
are JSON (the queues use the JSON serializer): names, ids and a run id, never secrets.

A worker process builds its :class:`PipelineContext` once, after the fork, from the configuration
file named by ``BATON_CONFIG`` (secrets from the environment), and reuses it for every job.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rq import Retry

from app.config import load_config
from app.queueing import baton_job, get_queue, redis_connection
from app.queueing.enqueue import enqueue_unique
from app.queueing.jobids import content_hash, job_id, sync_job_id
from app.queueing.names import EVALUATE_QUEUE, SYNC_QUEUE, WRITEBACK_QUEUE
from app.store import new_id

from app.pipeline.context import PipelineContext
from app.pipeline.runs import RunTracker
from app.pipeline.steps import StepResult, evaluate, sync_pages, write_back

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
EVALUATE_CHUNK = 2000       # records per evaluation job: ten full Salesforce write batches, twenty HubSpot ones
# Decisions per write-back job; the connector splits them into calls of its CRM's maximum (200/100),
# so only the last call of a job is partial, and HubSpot's lifecycle "clear" calls are grouped.
WRITEBACK_JOB_SIZE = 1000
_CONTEXT: tuple[int, PipelineContext] | None = None


# What the worker parent prepared for its forked jobs (see warm_up): configuration, the compiled
# rules and which stored rules version they came from. Pure data: safe to share across fork().
_WARM: dict[str, Any] = {}


def warm_up() -> None:
    """Prepare, once in the worker parent, what every forked job would otherwise redo: load the
    configuration, check the schema, compile the active rules. Connections, SDK clients and the
    durable-rules host are made in each job process, since they do not survive a fork."""
    try:
        config = load_config()
    except Exception as exc:  # noqa: BLE001 - no configuration (e.g. a bare worker): jobs load it themselves
        log.info("no pipeline warm-up: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    ctx = PipelineContext(config, redis_connection(config.redis_url.get_secret_value() if config.redis_url else None))
    _WARM.update(config=config, rules_version=ctx.rules_source(), ruleset=ctx.ruleset)
    ctx.store.close()           # its pooled connections must not be shared with the forks


def context() -> PipelineContext:
    """This process's pipeline context (rebuilt after a fork, from what the parent warmed up)."""
    global _CONTEXT
    if _CONTEXT is None or _CONTEXT[0] != os.getpid():
        config = _WARM.get("config") or load_config()
        connection = redis_connection(config.redis_url.get_secret_value() if config.redis_url else None)
        ctx = PipelineContext(config, connection, migrated="config" in _WARM)
        if "ruleset" in _WARM and ctx.rules_source() == _WARM["rules_version"]:
            ctx.__dict__["ruleset"] = _WARM["ruleset"]      # unchanged since warm-up: skip compiling
        _CONTEXT = (os.getpid(), ctx)
    return _CONTEXT[1]


def use_context(ctx: PipelineContext) -> None:
    """Run jobs of this process with ``ctx`` (in-process runs and tests)."""
    global _CONTEXT
    _CONTEXT = (os.getpid(), ctx)


def _counted(func: F) -> F:
    """Count the job as finished in its run once it ends for good (not when it will be retried)."""
    @functools.wraps(func)
    def wrapper(crm: str, object_name: str, payload: Any, run_id: str | None = None, *args: Any,
                **kwargs: Any) -> Any:
        if run_id is None:        # a scheduled sync: a run of its own, which nobody waits for
            return func(crm, object_name, payload, new_id(), *args, **kwargs)
        tracker = RunTracker(context().redis, run_id)
        try:
            result = func(crm, object_name, payload, run_id, *args, **kwargs)
        except BaseException as error:
            tracker.job_finished()
            tracker.note(f"{func.__name__} {crm} {object_name} failed: {type(error).__name__}: {error}")
            raise
        if not isinstance(result, Retry):
            tracker.job_finished()
        return result
    return wrapper  # type: ignore[return-value]


def _record(ctx: PipelineContext, tracker: RunTracker, crm: str, object_name: str, result: StepResult) -> None:
    tracker.add(result.counts)
    tracker.add(result.by_rule, "rules")
    ledger = ctx.connector(crm).ledger
    tracker.add_ledger(crm, object_name, ledger.snapshot())
    ledger.reset()
    ctx.remember_session(crm)


def enqueue_sync(connection: Any, crm: str, object_name: str, *, run_id: str, full: bool = False) -> bool:
    tracker = RunTracker(connection, run_id)
    tracker.job_started()
    mode = "full" if full else "incremental"
    result = enqueue_unique(get_queue(SYNC_QUEUE, connection), sync, job_id=sync_job_id(crm, object_name, mode),
                            args=(crm, object_name, mode, run_id))
    if not result.enqueued:
        tracker.job_finished()
    return result.enqueued


def _enqueue_next(connection: Any, queue_name: str, func: Callable[..., Any], kind: str, crm: str,
                  object_name: str, items: Sequence[str], run_id: str) -> None:
    tracker = RunTracker(connection, run_id)
    tracker.job_started()
    result = enqueue_unique(get_queue(queue_name, connection), func,
                            job_id=job_id(kind, crm, object_name, content_hash([run_id, list(items)])),
                            args=(crm, object_name, list(items), run_id))
    if not result.enqueued:
        tracker.job_finished()


@_counted
@baton_job
def sync(crm: str, object_name: str, mode: str, run_id: str) -> dict[str, int]:
    """Read changed records; enqueue one evaluation job per page of changed records."""
    ctx = context()
    tracker = RunTracker(ctx.redis, run_id)
    result = StepResult()
    pending: list[str] = []
    try:
        for changed in sync_pages(ctx, crm, object_name, full=(mode == "full"), result=result):
            pending += [r.id for r in changed]
            # Evaluate in chunks of several read pages, so write-back batches come out full
            # (HubSpot reads 200 per page but writes 100 per call; a 173-record page would cost 2).
            while len(pending) >= EVALUATE_CHUNK:
                _enqueue_next(ctx.redis, EVALUATE_QUEUE, evaluate_job, "evaluate", crm, object_name,
                              pending[:EVALUATE_CHUNK], run_id)
                pending = pending[EVALUATE_CHUNK:]
        if pending:
            _enqueue_next(ctx.redis, EVALUATE_QUEUE, evaluate_job, "evaluate", crm, object_name, pending, run_id)
    finally:
        _record(ctx, tracker, crm, object_name, result)
    return dict(result.counts)


@_counted
@baton_job
def evaluate_job(crm: str, object_name: str, ids: list[str], run_id: str) -> dict[str, int]:
    """Decide for a page of records; enqueue write-back jobs per batch of planned decisions."""
    ctx = context()
    tracker = RunTracker(ctx.redis, run_id)
    result = evaluate(ctx, crm, object_name, ids, run_id=run_id)
    _record(ctx, tracker, crm, object_name, result)
    if ctx.config.write_back.enabled:
        for start in range(0, len(result.decision_ids), WRITEBACK_JOB_SIZE):
            _enqueue_next(ctx.redis, WRITEBACK_QUEUE, writeback_job, "writeback", crm, object_name,
                          result.decision_ids[start:start + WRITEBACK_JOB_SIZE], run_id)
    return dict(result.counts)


@_counted
@baton_job
def writeback_job(crm: str, object_name: str, decision_ids: list[str], run_id: str) -> dict[str, int]:
    """Write a batch of planned decisions to the CRM."""
    ctx = context()
    tracker = RunTracker(ctx.redis, run_id)
    result = StepResult()
    try:
        write_back(ctx, crm, object_name, decision_ids, result=result)
    finally:
        _record(ctx, tracker, crm, object_name, result)
    return dict(result.counts)
