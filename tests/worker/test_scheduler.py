"""Leader-elected periodic scheduling: one enqueue per period however many schedulers run."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import redis

from app.queueing import PeriodicScheduler, ScheduleEntry, incremental_sync_entry
from app.queueing.leader import LeaderLock
from tests.worker.conftest import WorkerProcess, runs, wait_for
from tests.worker.fixtures import test_schedule


def test_only_one_leader_and_takeover_after_ttl(conn: redis.Redis) -> None:
    first = LeaderLock(conn, "baton:test-leader", ttl_s=0.3)
    second = LeaderLock(conn, "baton:test-leader", ttl_s=0.3)
    assert first.acquire_or_renew() and not second.acquire_or_renew()
    assert first.acquire_or_renew()  # renewal by the holder
    wait_for(second.acquire_or_renew, "the lock to expire and be taken over")
    assert not first.acquire_or_renew() and second.holder() == second.identity


def test_two_leaders_at_once_still_enqueue_once_per_period(conn: redis.Redis) -> None:
    """Simulates a split-brain takeover: both schedulers believe they lead during the same period."""
    entries = [ScheduleEntry(name="split", interval_s=3600, func="tests.worker.fixtures.periodic",
                             job_id="sync-split-incremental", args=("split",))]
    schedulers = [PeriodicScheduler(conn, entries) for _ in range(2)]
    schedulers[1].lock = schedulers[0].lock  # both hold "the" lock
    fired = [result for scheduler in schedulers for result in scheduler.tick()]
    assert [r.enqueued for r in fired] == [True]


def test_incremental_sync_entry_shares_the_manual_job_id() -> None:
    entry = incremental_sync_entry("hubspot", "contacts", 300, "app.pipeline.jobs.sync")
    assert entry.job_id == "sync-hubspot-contacts-incremental"
    assert tuple(entry.args) == ("hubspot", "contacts")


def test_three_workers_with_scheduler_enqueue_once_per_interval(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    interval = test_schedule()[0].interval_s
    workers = [start_worker("--with-scheduler", "--schedule", "tests.worker.fixtures:test_schedule")
               for _ in range(3)]
    wait_for(lambda: len(runs(conn, "periodic")) >= 4, "four scheduled runs")
    time.sleep(interval)  # one more period, in which all three schedulers were competing
    for worker in workers:
        worker.terminate()
    assert [worker.wait() for worker in workers] == [0, 0, 0]

    executions = runs(conn, "periodic")
    periods = [run["period"] for run in executions]
    assert Counter(periods).most_common(1)[0][1] == 1, f"a period ran twice: {periods}"
    assert periods == list(range(periods[0], periods[0] + len(periods))), f"a period was skipped: {periods}"
    assert len({run["meta"]["scheduler"] for run in executions}) == 1  # one leader throughout
