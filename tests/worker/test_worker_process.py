"""Worker lifecycle with real subprocesses: warm shutdown on SIGTERM, recovery after kill -9."""
from __future__ import annotations

import os
import signal
from collections.abc import Callable

import redis
from rq.job import JobStatus

from app.queueing import SYNC_QUEUE, WRITEBACK_QUEUE, enqueue_unique, fetch_job, get_queue, recover_abandoned
from tests.worker.conftest import WorkerProcess, runs, wait_for


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_sigterm_finishes_the_current_job_then_exits_zero(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.sleep_then_record", job_id="sync-slow", args=("slow", 2.0))
    enqueue_unique(queue, "tests.worker.fixtures.record_run", job_id="sync-next", args=("next",))
    worker = start_worker("--queues", "sync")
    wait_for(lambda: runs(conn, "slow"), "the slow job to start")

    worker.terminate()
    assert worker.wait() == 0, worker.log()
    assert [run["phase"] for run in runs(conn, "slow")] == ["start", "end"]
    assert fetch_job("sync-slow", conn).get_status() == JobStatus.FINISHED
    assert runs(conn, "next") == []  # no new job was taken after the signal
    assert queue.get_job_ids() == ["sync-next"]


def test_job_of_a_killed_worker_runs_again_exactly_once(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(WRITEBACK_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.hang_on_first_run", job_id="writeback-killed",
                   args=("killed", 60.0))
    doomed = start_worker("--queues", "writeback")
    horse_pid = wait_for(lambda: runs(conn, "killed"), "the job to start")[0]["pid"]

    # A container kill takes the whole process tree: the worker's group and the horse's own group.
    doomed.kill_group()
    os.killpg(horse_pid, signal.SIGKILL)
    doomed.wait()
    wait_for(lambda: _pid_gone(horse_pid), "the work horse to die")
    assert fetch_job("writeback-killed", conn).get_status() == JobStatus.STARTED  # what rq alone leaves

    recovered = recover_abandoned(queue)
    assert [(r.job_id, r.action) for r in recovered] == [("writeback-killed", "requeued")]
    assert recover_abandoned(queue) == []  # exactly once, however often it is called
    assert queue.get_job_ids() == ["writeback-killed"]

    assert start_worker("--burst", "--queues", "writeback").wait() == 0
    assert [run["phase"] for run in runs(conn, "killed")] == ["start", "start", "end"]
    job = fetch_job("writeback-killed", conn)
    assert job.get_status() == JobStatus.FINISHED
    assert job.meta["abandoned"] == 1 and job.meta["attempts"] == 2


def test_new_worker_recovers_abandoned_jobs_at_start_up(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.hang_on_first_run", job_id="sync-killed",
                   args=("startup", 60.0))
    doomed = start_worker("--queues", "sync")
    horse_pid = wait_for(lambda: runs(conn, "startup"), "the job to start")[0]["pid"]
    doomed.kill_group()
    os.killpg(horse_pid, signal.SIGKILL)
    doomed.wait()
    wait_for(lambda: _pid_gone(horse_pid), "the work horse to die")

    assert start_worker("--burst", "--queues", "sync").wait() == 0
    assert [run["phase"] for run in runs(conn, "startup")] == ["start", "start", "end"]
    assert fetch_job("sync-killed", conn).get_status() == JobStatus.FINISHED


def test_running_job_of_a_live_worker_is_left_alone(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.sleep_then_record", job_id="sync-alive", args=("alive", 1.0))
    worker = start_worker("--queues", "sync", "--burst")
    wait_for(lambda: runs(conn, "alive"), "the job to start")

    assert recover_abandoned(queue) == []
    assert worker.wait() == 0
    assert [run["phase"] for run in runs(conn, "alive")] == ["start", "end"]


def test_parent_killed_but_horse_alive_is_not_requeued(
        conn: redis.Redis, start_worker: Callable[..., WorkerProcess]) -> None:
    """Only the worker process dies (its horse runs in its own process group and finishes the job)."""
    queue = get_queue(SYNC_QUEUE, conn)
    enqueue_unique(queue, "tests.worker.fixtures.sleep_then_record", job_id="sync-orphan",
                   args=("orphan", 1.5))
    worker = start_worker("--queues", "sync")
    wait_for(lambda: runs(conn, "orphan"), "the job to start")
    worker.kill_group()
    worker.wait()

    assert recover_abandoned(queue) == []
    wait_for(lambda: len(runs(conn, "orphan")) == 2, "the orphaned horse to finish")
    assert [run["phase"] for run in runs(conn, "orphan")] == ["start", "end"]
    assert queue.get_job_ids() == []
