"""De-duplicated enqueue, job ids and the JSON serializer, on real Redis with real workers."""
from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable

import redis
from rq.job import JobStatus

from app.queueing import (
    SYNC_QUEUE,
    WRITEBACK_QUEUE,
    enqueue_unique,
    fetch_job,
    get_queue,
    sync_job_id,
    writeback_job_id,
)
from tests.worker.conftest import QUEUE_DB_URL, WorkerProcess, runs

RECORD = "tests.worker.fixtures.record_run"


def test_job_ids_are_deterministic_and_rq_safe() -> None:
    assert sync_job_id("hubspot", "contacts") == "sync-hubspot-contacts-incremental"
    assert sync_job_id("salesforce", "Lead", "full") == "sync-salesforce-Lead-full"
    batch = [{"id": "003A", "fields": {"Status": "Qualified"}},
             {"id": "003B", "fields": {"Status": "Nurturing"}}]
    same_batch_other_key_order = [{"fields": {"Status": "Qualified"}, "id": "003A"},
                                  {"id": "003B", "fields": {"Status": "Nurturing"}}]
    assert writeback_job_id("salesforce", "Lead", batch) == writeback_job_id("salesforce", "Lead",
                                                                             same_batch_other_key_order)
    assert writeback_job_id("salesforce", "Lead", batch) != writeback_job_id("salesforce", "Lead", batch[:1])
    assert sync_job_id("hub:spot", "a.b c") == "sync-hub_spot-a_b_c-incremental"


def test_ten_concurrent_duplicate_triggers_run_one_job(conn: redis.Redis,
                                                       start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    job_id = sync_job_id("hubspot", "contacts")
    results = []
    barrier = threading.Barrier(10)

    def trigger() -> None:
        client = redis.Redis.from_url(QUEUE_DB_URL)  # one client per producer, as in production
        barrier.wait()
        results.append(enqueue_unique(get_queue(SYNC_QUEUE, client), RECORD, job_id=job_id, args=("dedupe",)))

    threads = [threading.Thread(target=trigger) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.enqueued for r in results) == [False] * 9 + [True]
    assert queue.get_job_ids() == [job_id]
    assert start_worker("--burst", "--queues", "sync").wait() == 0
    assert len(runs(conn, "dedupe")) == 1
    assert fetch_job(job_id, conn).get_status() == JobStatus.FINISHED


def test_trigger_after_the_job_finished_runs_again(conn: redis.Redis,
                                                   start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(WRITEBACK_QUEUE, conn)
    first = enqueue_unique(queue, RECORD, job_id="writeback-x", args=("again",))
    assert start_worker("--burst").wait() == 0
    second = enqueue_unique(queue, RECORD, job_id="writeback-x", args=("again",))
    duplicate = enqueue_unique(queue, RECORD, job_id="writeback-x", args=("again",))
    assert start_worker("--burst").wait() == 0

    assert (first.enqueued, second.enqueued, second.replaced_previous) == (True, True, True)
    assert not duplicate.enqueued
    assert len(runs(conn, "again")) == 2
    assert queue.finished_job_registry.get_job_ids() == ["writeback-x"]


def test_delayed_duplicates_are_one_scheduled_job(conn: redis.Redis) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    results = [enqueue_unique(queue, RECORD, job_id="sync-later", args=("later",), delay=30)
               for _ in range(10)]
    immediate = enqueue_unique(queue, RECORD, job_id="sync-later", args=("later",))

    assert [r.enqueued for r in results] == [True] + [False] * 9
    assert not immediate.enqueued
    assert queue.scheduled_job_registry.get_job_ids() == ["sync-later"]
    assert queue.count == 0


def test_jobs_are_stored_as_json_not_pickle(conn: redis.Redis,
                                            start_worker: Callable[..., WorkerProcess]) -> None:
    enqueue_unique(get_queue(SYNC_QUEUE, conn), RECORD, job_id="sync-json", args=("json",),
                   meta={"trigger": "test"})
    data = json.loads(zlib.decompress(conn.hget("rq:job:sync-json", "data")))
    assert data[0] == RECORD and data[2] == ["json"]
    assert json.loads(conn.hget("rq:job:sync-json", "meta")) == {"trigger": "test"}
    assert start_worker("--burst").wait() == 0
    assert len(runs(conn, "json")) == 1
