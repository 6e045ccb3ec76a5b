"""Retry policy and the job wrapper every Baton job function uses.

What the wrapper does with each error class (``connectors/errors.py``):

* ``RateLimited(retry_after)``: re-schedule the same job id after ``retry_after`` plus a little jitter,
  never earlier (the CRM told us when; hammering it burns quota and can get the app banned).
  ``retry_after=None`` falls back to the policy's backoff.
* ``RetriableError`` (and the extra ``retry_on`` classes): exponential backoff with full jitter
  between ``backoff(n)/2`` and ``backoff(n)``, capped, up to ``max_attempts`` executions.
* ``FatalError`` / ``AuthError`` / anything unexpected: fail at once. The reason is recorded in
  ``job.meta["failure"]`` and the traceback goes to the FailedJobRegistry.

Re-scheduling is rq's "job returns ``Retry``" path (the worker keeps the same job id, the job sits in
the ScheduledJobRegistry, rq's scheduler moves it back when due). Counters live in ``job.meta``:
``attempts`` (executions started), ``rate_limited``, ``retried``, ``abandoned`` (see recovery).
"""
from __future__ import annotations

import functools
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, ParamSpec, TypeVar

from rq import Retry, get_current_job
from rq.job import Job

from connectors.errors import CrmError, FatalError, RateLimited, RetriableError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_SCHEDULER_GRANULARITY_S = 1
"""rq stores scheduled times in whole seconds (truncated): add 1 s so a retry is never early."""
_UNBOUNDED = 1_000_000
"""``Retry.max`` we hand rq: the wrapper counts attempts itself, per error class."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a job retries. Defaults suit CRM calls: 6 tries over about 10 minutes."""

    max_attempts: int = 6
    """Executions allowed for transient errors, the first one included."""
    base_delay_s: float = 5.0
    max_delay_s: float = 300.0
    max_rate_limited: int = 50
    """Rate-limit waits allowed before giving up (a daily quota can stay exhausted for hours)."""
    rate_limit_jitter_s: float = 2.0
    """Upper bound of the random delay added after ``retry_after`` (spreads the herd of workers)."""
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    """Non-CRM exception classes that are also transient (network, Redis, DB)."""

    def backoff_s(self, attempt: int) -> float:
        """Delay before re-running after failed attempt number ``attempt`` (1-based), jittered."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(attempt - 1, 0))
        return random.uniform(ceiling / 2, ceiling)

    def rate_limit_delay_s(self, retry_after: float | None, attempt: int) -> float:
        """Delay honouring the CRM's ``retry_after`` as a minimum."""
        if retry_after is None:
            return self.backoff_s(attempt)
        return max(0.0, retry_after) + random.uniform(0, self.rate_limit_jitter_s)


DEFAULT_POLICY = RetryPolicy()


def baton_job(func: Callable[P, R] | None = None, *, policy: RetryPolicy = DEFAULT_POLICY) -> Any:
    """Decorate a job function with Baton's retry policy: ``@baton_job`` or ``@baton_job(policy=...)``.

    Outside a worker (called directly, e.g. by ``baton sync`` in-process) the function runs plain and
    exceptions propagate unchanged.
    """
    def decorate(inner: Callable[P, R]) -> Callable[P, R | Retry]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Retry:
            job = get_current_job()
            if job is None:
                return inner(*args, **kwargs)
            attempt = _count(job, "attempts")
            job.meta["last_started_at"] = time.time()
            job.save_meta()
            try:
                return inner(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - dispatch below re-raises what it does not handle
                return _handle_error(job, exc, attempt, policy)
        wrapper.baton_policy = policy  # type: ignore[attr-defined]
        return wrapper

    return decorate(func) if func is not None else decorate


def _handle_error(job: Job, exc: BaseException, attempt: int, policy: RetryPolicy) -> Retry:
    if isinstance(exc, RateLimited):
        waits = _count(job, "rate_limited", save=False)
        if waits > policy.max_rate_limited:
            _fail(job, exc, f"still rate limited after {waits - 1} waits")
        return _retry_later(job, exc, policy.rate_limit_delay_s(exc.retry_after, attempt), "rate_limited")
    if isinstance(exc, RetriableError) or isinstance(exc, policy.retry_on):
        if attempt >= policy.max_attempts:
            _fail(job, exc, f"gave up after {attempt} attempts")
        _count(job, "retried", save=False)
        return _retry_later(job, exc, policy.backoff_s(attempt), "retriable")
    if isinstance(exc, Exception):
        _fail(job, exc, "fatal" if isinstance(exc, (FatalError, CrmError)) else "unexpected error")
    raise exc  # BaseException (timeouts, shutdown): let rq handle it


def _retry_later(job: Job, exc: BaseException, delay_s: float, reason: str) -> Retry:
    interval = math.ceil(delay_s * 1000) / 1000 + _SCHEDULER_GRANULARITY_S
    job.meta["last_error"] = _describe(exc)
    job.meta["retry"] = {"reason": reason, "not_before": time.time() + delay_s, "delay_s": round(delay_s, 3)}
    job.save_meta()
    log.warning("job %s: %s (%s); retrying in %.1f s", job.id, reason, _describe(exc)["message"], delay_s)
    # A one-element list: rq 2.12's Retry accepts float seconds only inside a list.
    return Retry(max=_UNBOUNDED, interval=[interval])  # type: ignore[list-item]


def _fail(job: Job, exc: BaseException, reason: str) -> NoReturn:
    """Record why the job failed, then re-raise so rq puts it in the FailedJobRegistry."""
    job.meta["failure"] = {"reason": reason, "error": _describe(exc), "at": time.time()}
    job.meta.pop("retry", None)
    job.save_meta()
    log.error("job %s failed: %s: %s", job.id, reason, _describe(exc)["message"])
    raise exc


def _describe(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, CrmError):
        return {**exc.to_dict(), "message": str(exc)}
    return {"type": type(exc).__name__, "message": str(exc)}


def _count(job: Job, counter: str, save: bool = True) -> int:
    job.meta[counter] = int(job.meta.get(counter, 0)) + 1
    if save:
        job.save_meta()
    return int(job.meta[counter])
