"""Queue objects bound to the JSON serializer; the only way Baton code should build an rq ``Queue``."""
from __future__ import annotations

from collections.abc import Iterable

import redis
from rq import Queue
from rq.job import Job

from app.queueing.names import QUEUE_ALIASES, QUEUE_PRIORITY
from app.queueing.serializer import SERIALIZER

DEFAULT_JOB_TIMEOUT_S = 30 * 60
"""A sync of a large object can take minutes; the rq default of 180 s is too short."""


def get_queue(name: str, connection: redis.Redis) -> Queue:
    """The named Baton queue (full name ``baton:sync`` or alias ``sync``) using the JSON serializer."""
    return Queue(resolve_queue_name(name), connection=connection, serializer=SERIALIZER,
                 default_timeout=DEFAULT_JOB_TIMEOUT_S)


def get_queues(connection: redis.Redis, names: Iterable[str] | None = None) -> list[Queue]:
    """Queues in dequeue-priority order (all Baton queues when ``names`` is None)."""
    wanted = [resolve_queue_name(n) for n in names] if names is not None else list(QUEUE_PRIORITY)
    ordered = [n for n in QUEUE_PRIORITY if n in wanted] + [n for n in wanted if n not in QUEUE_PRIORITY]
    return [get_queue(name, connection) for name in dict.fromkeys(ordered)]


def resolve_queue_name(name: str) -> str:
    """``sync`` -> ``baton:sync``; full names pass through; anything else is an error."""
    name = name.strip()
    if name in QUEUE_ALIASES:
        return QUEUE_ALIASES[name]
    if name in QUEUE_ALIASES.values():
        return name
    known = ", ".join(QUEUE_ALIASES)
    raise ValueError(f"unknown queue {name!r}; use one of: {known}")


def fetch_job(job_id: str, connection: redis.Redis) -> Job:
    """A Baton job by id, decoded with the JSON serializer (``Job.fetch`` without it cannot read meta).

    Raises:
        rq.exceptions.NoSuchJobError: No such job (never enqueued, or expired).
    """
    return Job.fetch(job_id, connection=connection, serializer=SERIALIZER)
