"""The job wrapper's retry policy, run by real worker subprocesses on real Redis."""
from __future__ import annotations

from collections.abc import Callable

import redis
from rq.job import JobStatus

from app.queueing import SYNC_QUEUE, enqueue_unique, fetch_job, get_queue
from app.queueing.status import queue_overview
from tests.worker.conftest import WorkerProcess, runs, wait_for
from tests.worker.fixtures import FAST_POLICY


def _status(conn: redis.Redis, job_id: str) -> JobStatus:
    return fetch_job(job_id, conn).get_status()


def test_rate_limited_job_waits_at_least_retry_after(conn: redis.Redis,
                                                     start_worker: Callable[..., WorkerProcess]) -> None:
    retry_after = 1.5
    enqueue_unique(get_queue(SYNC_QUEUE, conn), "tests.worker.fixtures.rate_limited_then_ok",
                   job_id="sync-rl", args=("rl", retry_after, 2))
    start_worker()
    wait_for(lambda: _status(conn, "sync-rl") == JobStatus.FINISHED, "the rate-limited job to finish")

    executions = runs(conn, "rl")
    assert len(executions) == 3
    for before, after in zip(executions, executions[1:], strict=False):
        # Each run started no earlier than the previous run's failure + retry_after (a lower bound only).
        assert after["at"] - before["at"] >= retry_after
    job = fetch_job("sync-rl", conn)
    assert job.meta["attempts"] == 3 and job.meta["rate_limited"] == 2
    assert job.meta["last_error"]["type"] == "RateLimited"
    assert job.meta["last_error"]["retry_after"] == retry_after


def test_retriable_error_backs_off_then_succeeds(conn: redis.Redis,
                                                 start_worker: Callable[..., WorkerProcess]) -> None:
    enqueue_unique(get_queue(SYNC_QUEUE, conn), "tests.worker.fixtures.retriable_then_ok",
                   job_id="sync-flaky", args=("flaky", 2))
    start_worker()
    wait_for(lambda: _status(conn, "sync-flaky") == JobStatus.FINISHED, "the flaky job to finish")

    executions = runs(conn, "flaky")
    assert len(executions) == 3
    job = fetch_job("sync-flaky", conn)
    assert (job.meta["attempts"], job.meta["retried"]) == (3, 2)
    assert "failure" not in job.meta


def test_retriable_error_gives_up_after_max_attempts(conn: redis.Redis,
                                                     start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.retriable_then_ok", job_id="sync-down", args=("down", 99))
    start_worker()
    wait_for(lambda: _status(conn, "sync-down") == JobStatus.FAILED, "the job to fail")

    assert len(runs(conn, "down")) == FAST_POLICY.max_attempts
    job = fetch_job("sync-down", conn)
    assert job.meta["failure"]["reason"] == f"gave up after {FAST_POLICY.max_attempts} attempts"
    assert "sync-down" in queue.failed_job_registry.get_job_ids()
    assert "RetriableError" in job.latest_result().exc_string


def test_fatal_error_fails_at_once_with_reason(conn: redis.Redis,
                                               start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.auth_fails", job_id="sync-auth", args=("auth",))
    assert start_worker("--burst").wait() == 0

    assert _status(conn, "sync-auth") == JobStatus.FAILED
    assert len(runs(conn, "auth")) == 1
    assert queue.failed_job_registry.get_job_ids() == ["sync-auth"]
    job = fetch_job("sync-auth", conn)
    assert job.meta["failure"]["reason"] == "fatal"
    assert job.meta["failure"]["error"]["type"] == "AuthError"
    assert job.meta["failure"]["error"]["status"] == 401
    assert "AuthError: hubspot read: token rejected [401]" in job.latest_result().exc_string
    sync_figures = next(f for f in queue_overview(conn) if f.queue == SYNC_QUEUE)
    assert sync_figures.failed == 1
    assert sync_figures.recent_failures == (("sync-auth", "fatal: hubspot read: token rejected [401]"),)
