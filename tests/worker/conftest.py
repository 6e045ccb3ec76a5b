"""Fixtures for the worker tests: real Redis (databases 11 and 12 only) and real worker subprocesses."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.worker.fixtures import RUNS_KEY

REPO = Path(__file__).resolve().parents[2]
QUEUE_DB_URL = "redis://127.0.0.1:6379/11"
LIMITER_DB_URL = "redis://127.0.0.1:6379/12"
DEADLINE_S = 60.0  # a deadline for slow, loaded CI machines; no test asserts a duration with it
"""Upper bound when waiting for an event; never asserted as a duration."""


def _flushed(url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (see the team brief for how to start it)")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def conn() -> Iterator[redis.Redis]:
    """Database 11, flushed before and after: queues, jobs and workers."""
    yield from _flushed(QUEUE_DB_URL)


@pytest.fixture
def limiter_conn() -> Iterator[redis.Redis]:
    """Database 12, flushed before and after: rate limiter state."""
    yield from _flushed(LIMITER_DB_URL)


class WorkerProcess:
    """A ``python worker.py`` subprocess in its own session (so it can be killed as a group)."""

    def __init__(self, args: list[str], log_path: Path, redis_url: str = QUEUE_DB_URL) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        env = {**os.environ, "PYTHONPATH": str(REPO), "REDIS_URL": redis_url}
        command = [sys.executable, str(REPO / "worker.py"), "--redis-url", redis_url, *args]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)

    def wait(self, timeout: float = DEADLINE_S) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker subprocesses; any still running at the end are killed (group) and reaped."""
    started: list[WorkerProcess] = []

    def start(*args: str, redis_url: str = QUEUE_DB_URL) -> WorkerProcess:
        worker = WorkerProcess(list(args), tmp_path / f"worker-{len(started)}.log", redis_url)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill_group()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """Poll ``condition`` until truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def runs(connection: redis.Redis, tag: str) -> list[dict[str, Any]]:
    """Executions recorded by the fixture jobs for ``tag``."""
    return [json.loads(raw) for raw in connection.lrange(RUNS_KEY.format(tag=tag), 0, -1)]
