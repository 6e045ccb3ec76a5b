"""Job functions for the worker tests. They live in an importable module because forked work horses
import jobs by dotted path. Each records what happened in Redis (the worker's own connection), so
tests observe real executions instead of mocks."""
from __future__ import annotations

import json
import os
import time

from rq import get_current_job

from app.queueing import RetryPolicy, ScheduleEntry, baton_job
from connectors.errors import AuthError, RateLimited, RetriableError

FAST_POLICY = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=1.0, rate_limit_jitter_s=0.5)
"""Short delays so retry tests finish in seconds."""

RUNS_KEY = "test:runs:{tag}"


def _record(tag: str, **extra: object) -> int:
    job = get_current_job()
    assert job is not None
    entry = {"at": time.time(), "pid": os.getpid(), "job_id": job.id, "meta": dict(job.meta), **extra}
    return int(job.connection.rpush(RUNS_KEY.format(tag=tag), json.dumps(entry)))


@baton_job(policy=FAST_POLICY)
def record_run(tag: str) -> str:
    """Records one execution."""
    _record(tag)
    return tag


@baton_job(policy=FAST_POLICY)
def sleep_then_record(tag: str, seconds: float) -> str:
    """Records its start, sleeps, records its end (warm-shutdown test)."""
    _record(tag, phase="start")
    time.sleep(seconds)
    _record(tag, phase="end")
    return tag


@baton_job(policy=FAST_POLICY)
def hang_on_first_run(tag: str, seconds: float) -> str:
    """First execution sleeps ``seconds`` (to be killed); later ones return at once."""
    runs = _record(tag, phase="start")
    if runs == 1:
        time.sleep(seconds)
    _record(tag, phase="end")
    return tag


@baton_job(policy=FAST_POLICY)
def rate_limited_then_ok(tag: str, retry_after: float, limited_runs: int) -> str:
    """Raises RateLimited(retry_after) on its first ``limited_runs`` executions."""
    runs = _record(tag)
    if runs <= limited_runs:
        raise RateLimited("429 from sandbox", crm="hubspot", operation="read", status=429,
                          retry_after=retry_after)
    return tag


@baton_job(policy=FAST_POLICY)
def retriable_then_ok(tag: str, failing_runs: int) -> str:
    """Raises RetriableError on its first ``failing_runs`` executions."""
    runs = _record(tag)
    if runs <= failing_runs:
        raise RetriableError("503 from sandbox", crm="salesforce", operation="query", status=503)
    return tag


@baton_job(policy=FAST_POLICY)
def auth_fails(tag: str) -> str:
    """Always fails with an AuthError."""
    _record(tag)
    raise AuthError("token rejected", crm="hubspot", operation="read", status=401)


@baton_job(policy=FAST_POLICY)
def periodic(tag: str) -> str:
    """Records the scheduler period it was enqueued for."""
    job = get_current_job()
    assert job is not None
    _record(tag, period=job.meta.get("scheduled_period"))
    return tag


def test_schedule() -> list[ScheduleEntry]:
    """Schedule provider for the scheduler test: one entry every second."""
    return [ScheduleEntry(name="test:periodic", interval_s=1.0, func="tests.worker.fixtures.periodic",
                          job_id="sync-test-periodic-incremental", args=("periodic",))]


test_schedule.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
