"""Queue figures for ``baton status`` and health checks."""
from __future__ import annotations

from dataclasses import dataclass

import redis
from rq import Worker
from rq.job import Job

from app.queueing.queues import get_queues
from app.queueing.serializer import SERIALIZER


@dataclass(frozen=True)
class QueueFigures:
    """Counts of one queue's jobs by state, plus the failed jobs' reasons (most recent first)."""

    queue: str
    queued: int
    started: int
    scheduled: int
    failed: int
    finished: int
    workers: int
    recent_failures: tuple[tuple[str, str], ...]
    """(job id, reason) of up to five failed jobs."""


def queue_overview(connection: redis.Redis, failures_per_queue: int = 5) -> list[QueueFigures]:
    """Figures of every Baton queue, in priority order."""
    figures = []
    for queue in get_queues(connection):
        failed_ids = queue.failed_job_registry.get_job_ids(0, failures_per_queue - 1, desc=True)
        jobs = Job.fetch_many(failed_ids, connection=connection, serializer=SERIALIZER) if failed_ids else []
        reasons = tuple((job_id, _failure_reason(job)) for job_id, job in zip(failed_ids, jobs, strict=True))
        figures.append(QueueFigures(
            queue=queue.name, queued=queue.count, started=queue.started_job_registry.count,
            scheduled=queue.scheduled_job_registry.count, failed=queue.failed_job_registry.count,
            finished=queue.finished_job_registry.count,
            workers=Worker.count(queue=queue, connection=connection), recent_failures=reasons))
    return figures


def _failure_reason(job: object) -> str:
    if job is None:
        return "(job expired)"
    failure = getattr(job, "meta", {}).get("failure") or {}
    error = failure.get("error") or {}
    if failure:
        return f"{failure.get('reason', 'failed')}: {error.get('message', '')}".strip(": ")
    return "failed (no reason recorded)"

