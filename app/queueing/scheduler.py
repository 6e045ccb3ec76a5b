"""Periodic enqueues (incremental syncs) with exactly one scheduler however many workers run.

Every worker started with ``--with-scheduler`` runs a :class:`PeriodicScheduler` in a child process.
They compete for one :class:`~app.queueing.leader.LeaderLock`; only the leader fires. Time is cut into
periods of each entry's interval on Redis's clock (``TIME``), and firing period ``n`` of entry ``e``
first claims ``baton:scheduler:fired:e:n`` with ``SET NX``: even two leaders during a takeover cannot
both enqueue in one period. The enqueue itself goes through :func:`enqueue_unique`, so a sync that is
still queued or running when its next period starts is not enqueued a second time.
"""
from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from app.queueing.enqueue import EnqueueResult, enqueue_unique
from app.queueing.jobids import sync_job_id
from app.queueing.leader import LeaderLock
from app.queueing.names import SCHEDULER_FIRED_KEY, SCHEDULER_LEADER_KEY, SYNC_QUEUE
from app.queueing.queues import get_queue

log = logging.getLogger(__name__)

DEFAULT_LOCK_TTL_S = 15.0


@dataclass(frozen=True)
class ScheduleEntry:
    """One periodic job: ``func(*args, **kwargs)`` as ``job_id`` on ``queue`` every ``interval_s``."""

    name: str
    interval_s: float
    func: str
    job_id: str
    queue: str = SYNC_QUEUE
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError(f"schedule {self.name!r}: interval must be positive, got {self.interval_s}")


def incremental_sync_entry(crm: str, object_name: str, interval_s: float, func: str,
                           args: Sequence[Any] | None = None, kwargs: Mapping[str, Any] | None = None
                           ) -> ScheduleEntry:
    """The schedule of one (crm, object) incremental sync; its job id is the manual trigger's id, so a
    manual ``baton sync`` and the schedule never run the same sync twice at once."""
    return ScheduleEntry(name=f"sync:{crm}:{object_name}", interval_s=interval_s, func=func,
                         job_id=sync_job_id(crm, object_name, "incremental"),
                         args=tuple(args) if args is not None else (crm, object_name),
                         kwargs=dict(kwargs or {}))


class PeriodicScheduler:
    """Fires :class:`ScheduleEntry` jobs while it holds the leader lock."""

    def __init__(self, connection: redis.Redis, entries: Sequence[ScheduleEntry], *,
                 lock_ttl_s: float = DEFAULT_LOCK_TTL_S, identity: str | None = None) -> None:
        self._connection = connection
        self.entries = list(entries)
        self.lock = LeaderLock(connection, SCHEDULER_LEADER_KEY, lock_ttl_s, identity)
        shortest = min((e.interval_s for e in self.entries), default=1.0)
        # Tick often enough to fire early in each period, and renew well inside the lock TTL.
        self.tick_s = max(0.05, min(1.0, shortest / 5, lock_ttl_s / 3))

    def tick(self) -> list[EnqueueResult]:
        """One round: renew/acquire leadership and, if leader, fire every entry due this period."""
        if not self.lock.acquire_or_renew():
            return []
        now = self._redis_time()
        fired: list[EnqueueResult] = []
        for entry in self.entries:
            period = math.floor(now / entry.interval_s)
            claim_key = SCHEDULER_FIRED_KEY.format(name=entry.name, period=period)
            expiry_s = max(60, math.ceil(entry.interval_s * 3))
            if not self._connection.set(claim_key, self.lock.identity, nx=True, ex=expiry_s):
                continue  # this period already fired (by us or a previous leader)
            fired.append(self._fire(entry, period))
        return fired

    def run(self, stop: threading.Event | None = None, parent_pid: int | None = None) -> None:
        """Tick until ``stop`` is set or the parent process (the worker) is gone; then step down."""
        stop = stop or threading.Event()
        log.info("scheduler %s: %d schedule(s), tick %.2f s", self.lock.identity, len(self.entries),
                 self.tick_s)
        try:
            while not stop.is_set():
                if parent_pid is not None and os.getppid() != parent_pid:
                    break  # orphaned: the worker died, do not keep scheduling on its behalf
                try:
                    self.tick()
                except redis.RedisError as exc:
                    log.warning("scheduler: Redis error %s; retrying", exc.__class__.__name__)
                stop.wait(self.tick_s)
        finally:
            self.lock.release()

    def _fire(self, entry: ScheduleEntry, period: int) -> EnqueueResult:
        result = enqueue_unique(get_queue(entry.queue, self._connection), entry.func, job_id=entry.job_id,
                                args=entry.args, kwargs=entry.kwargs,
                                meta={"scheduled_by": entry.name, "scheduled_period": period,
                                      "scheduler": self.lock.identity})
        if result.enqueued:
            log.info("scheduler: enqueued %s (period %d)", entry.job_id, period)
        else:
            log.info("scheduler: %s still in flight; period %d skipped", entry.job_id, period)
        return result

    def _redis_time(self) -> float:
        seconds, micros = self._connection.time()
        return seconds + micros / 1_000_000


ScheduleProvider = Callable[[], Sequence[ScheduleEntry]]
