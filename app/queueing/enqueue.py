"""Enqueue with de-duplication: a job id is "in flight" at most once.

A trigger whose deterministic job id is already queued, scheduled, started or waiting for a retry is
dropped (the job already in flight covers it). A trigger whose previous job with that id has finished,
failed or been cancelled replaces the old job, so the next scheduled sync runs even though rq keeps
finished jobs around for ``result_ttl``.

Three layers make this safe under concurrency:

1. a short per-id Redis lock (``SET NX PX``) held while checking and enqueueing, so two producers
   never both replace a finished job (``enqueue_in``/``enqueue_at`` ignore ``unique`` in rq 2.12,
   so the delayed path needs this guard anyway);
2. a Lua script that removes the previous job only if it is in a terminal state;
3. rq's own atomic ``unique=True`` (``Queue.enqueue_job`` / ``Queue.schedule_job``) as the last word.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

from app.queueing.names import ENQUEUE_LOCK_KEY

DEFAULT_RESULT_TTL_S = 24 * 3600
"""Keep results a day so ``baton status`` can show the last runs (a rerun replaces them anyway)."""
DEFAULT_FAILURE_TTL_S = 14 * 24 * 3600
_LOCK_TTL_MS = 10_000

_CLAIM_ID_LUA = """
-- KEYS[1] job hash. Returns 1 if the id is free, 2 if a terminal job was removed, 0 if in flight.
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'finished' or status == 'failed' or status == 'stopped' or status == 'canceled' then
  local origin = redis.call('HGET', KEYS[1], 'origin')
  redis.call('DEL', KEYS[1])
  if origin then
    redis.call('ZREM', 'rq:finished:' .. origin, ARGV[1])
    redis.call('ZREM', 'rq:failed:' .. origin, ARGV[1])
    redis.call('ZREM', 'rq:canceled:' .. origin, ARGV[1])
  end
  return 2
end
return 0
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class EnqueueResult:
    """What happened to one trigger."""

    job_id: str
    enqueued: bool
    """False: a job with this id is already in flight, so this trigger was a harmless duplicate."""
    replaced_previous: bool = False
    """True: a finished/failed job with the same id was replaced by this one."""


def enqueue_unique(queue: Queue, func: str | Callable[..., Any], *, job_id: str,
                   args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None,
                   delay: float | timedelta | None = None, meta: Mapping[str, Any] | None = None,
                   job_timeout: int | None = None, result_ttl: int = DEFAULT_RESULT_TTL_S,
                   failure_ttl: int = DEFAULT_FAILURE_TTL_S) -> EnqueueResult:
    """Enqueue ``func(*args, **kwargs)`` as ``job_id`` unless a job with that id is in flight.

    Args:
        queue: A queue from :func:`app.queueing.get_queue` (JSON serializer).
        func: The job function or its dotted path (``"app.pipeline.jobs.sync"``); it should be
            wrapped with :func:`app.queueing.baton_job`.
        job_id: A deterministic id from :mod:`app.queueing.jobids`.
        args: JSON-serialisable positional arguments.
        kwargs: JSON-serialisable keyword arguments.
        delay: Run no earlier than this many seconds from now (scheduled; needs a worker
            running rq's scheduler, which every Baton worker does).
        meta: Initial ``job.meta``.
        job_timeout: Seconds before rq kills the job (queue default: 30 minutes).
        result_ttl: Seconds a finished job and its result are kept.
        failure_ttl: Seconds a failed job is kept in the FailedJobRegistry.
    """
    connection: redis.Redis = queue.connection
    lock_key, token = ENQUEUE_LOCK_KEY.format(job_id=job_id), uuid.uuid4().hex
    if not connection.set(lock_key, token, nx=True, px=_LOCK_TTL_MS):
        # Another producer is enqueueing this very id right now; its job covers this trigger.
        return EnqueueResult(job_id, enqueued=False)
    try:
        claim = int(connection.register_script(_CLAIM_ID_LUA)(keys=[Job.key_for(job_id)], args=[job_id]))
        if claim == 0:
            return EnqueueResult(job_id, enqueued=False)
        _create_and_enqueue(queue, func, job_id, args, kwargs, delay, meta, job_timeout, result_ttl,
                            failure_ttl)
        return EnqueueResult(job_id, enqueued=True, replaced_previous=claim == 2)
    except DuplicateJobError:
        return EnqueueResult(job_id, enqueued=False)
    finally:
        connection.register_script(_RELEASE_LUA)(keys=[lock_key], args=[token])


def _create_and_enqueue(queue: Queue, func: str | Callable[..., Any], job_id: str, args: Sequence[Any],
                        kwargs: Mapping[str, Any] | None, delay: float | timedelta | None,
                        meta: Mapping[str, Any] | None, job_timeout: int | None, result_ttl: int,
                        failure_ttl: int) -> Job:
    delayed = delay is not None and _seconds(delay) > 0
    function: Any = func  # rq types this as a TypeVar it cannot infer from a union
    job = queue.create_job(function, args=list(args), kwargs=dict(kwargs or {}), job_id=job_id,
                           meta=dict(meta or {}), timeout=job_timeout, result_ttl=result_ttl,
                           failure_ttl=failure_ttl,
                           status=JobStatus.SCHEDULED if delayed else JobStatus.QUEUED)
    if delayed:
        assert delay is not None
        # rq stores scheduled times truncated to whole seconds; +1 s keeps "no earlier than" true.
        run_at = datetime.now(UTC) + timedelta(seconds=_seconds(delay) + 1)
        return queue.schedule_job(job, run_at, unique=True)
    return queue.enqueue_job(job, unique=True)


def _seconds(delay: float | timedelta) -> float:
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
