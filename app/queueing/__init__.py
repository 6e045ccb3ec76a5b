"""Baton's job infrastructure on RQ: connection, queues, de-duplicated enqueue, retries, rate limits,
scheduling, abandoned-job recovery and the worker. Pipeline code should import from here only.

Typical use (the pipeline's job functions are the lead's; these are the seams)::

    from app.queueing import (baton_job, enqueue_unique, get_queue, redis_connection, sync_job_id,
                              SYNC_QUEUE, RateLimiter)

    @baton_job
    def sync(crm: str, object_name: str) -> dict: ...

    conn = redis_connection()
    enqueue_unique(get_queue(SYNC_QUEUE, conn), "app.pipeline.jobs.sync",
                   job_id=sync_job_id("hubspot", "contacts"), args=("hubspot", "contacts"))
"""
from __future__ import annotations

from app.queueing.connection import (
                                     RedisUnavailable,
                                     connection_url,
                                     embedded_redis,
                                     redact_url,
                                     redis_connection,
)
from app.queueing.enqueue import EnqueueResult, enqueue_unique
from app.queueing.jobids import content_hash, evaluate_job_id, job_id, sync_job_id, writeback_job_id
from app.queueing.names import EVALUATE_QUEUE, QUEUE_PRIORITY, SYNC_QUEUE, WRITEBACK_QUEUE
from app.queueing.processes import spawn_workers, stop_workers
from app.queueing.queues import fetch_job, get_queue, get_queues
from app.queueing.ratelimit import (
    DEFAULT_PROFILES,
    HUBSPOT_PROFILE,
    SALESFORCE_PROFILE,
    Bucket,
    BucketBudget,
    LimitProfile,
    RateLimiter,
    profile_from_config,
)
from app.queueing.recovery import RecoveredJob, recover_abandoned
from app.queueing.retry import DEFAULT_POLICY, RetryPolicy, baton_job
from app.queueing.scheduler import PeriodicScheduler, ScheduleEntry, incremental_sync_entry
from app.queueing.serializer import SERIALIZER, JsonSerializer
from app.queueing.status import queue_overview

__all__ = [
    "DEFAULT_POLICY", "DEFAULT_PROFILES", "EVALUATE_QUEUE", "HUBSPOT_PROFILE", "QUEUE_PRIORITY",
    "SALESFORCE_PROFILE", "SERIALIZER", "SYNC_QUEUE", "WRITEBACK_QUEUE", "Bucket", "BucketBudget",
    "EnqueueResult", "JsonSerializer", "LimitProfile", "PeriodicScheduler", "RateLimiter", "RecoveredJob",
    "RedisUnavailable", "RetryPolicy", "ScheduleEntry", "baton_job", "connection_url", "content_hash",
    "embedded_redis", "enqueue_unique", "evaluate_job_id", "fetch_job", "get_queue", "get_queues",
    "incremental_sync_entry",
    "job_id", "profile_from_config", "queue_overview", "recover_abandoned", "redact_url", "redis_connection",
    "spawn_workers",
    "stop_workers", "sync_job_id", "writeback_job_id",
]
