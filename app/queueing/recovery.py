"""Fast, explicit recovery of jobs whose worker died (``kill -9``, OOM, lost host).

rq notices such jobs only when their StartedJobRegistry entry expires (about 90 s of missed heartbeats)
and then, for jobs without enqueue-time retries, marks them FAILED. Baton wants them to run again,
exactly once, within seconds. :func:`recover_abandoned` looks at each started job's execution and
worker:

* execution record gone (heartbeats stopped long enough for it to expire) -> dead;
* worker key gone, or the worker registered its death -> dead;
* worker on this host and neither its process nor its work horse is alive -> dead (seconds after a kill);
* worker on another host whose last heartbeat is older than ``stale_after_s`` -> dead.

Each dead entry is removed from the registry with ``ZREM``; only the caller whose ``ZREM`` succeeded
requeues the job, so concurrent recoverers (every worker runs this at start-up and during
maintenance) never requeue a job twice. A job abandoned more than ``max_abandoned`` times is a
poison job (it kills its worker) and goes to the FailedJobRegistry instead.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.utils import as_text, parse_composite_key

log = logging.getLogger(__name__)

HORSE_PID_FIELD = "baton_horse_pid"
"""Field Baton's worker adds to its ``rq:worker:<name>`` hash: the pid of the running work horse."""
DEFAULT_STALE_AFTER_S = 60.0
DEFAULT_MAX_ABANDONED = 3


@dataclass(frozen=True)
class RecoveredJob:
    """One abandoned job and what recovery did with it."""

    job_id: str
    worker_name: str
    action: str
    """``"requeued"`` or ``"failed"`` (abandoned too often)."""


def recover_abandoned(queue: Queue, *, stale_after_s: float = DEFAULT_STALE_AFTER_S,
                      max_abandoned: int = DEFAULT_MAX_ABANDONED) -> list[RecoveredJob]:
    """Requeue (at the front) the jobs of ``queue`` whose worker is dead; see the module docstring."""
    connection: redis.Redis = queue.connection
    registry_key = queue.started_job_registry.key
    recovered: list[RecoveredJob] = []
    for raw in connection.zrange(registry_key, 0, -1):
        composite = raw.decode() if isinstance(raw, bytes) else str(raw)
        job_id, execution_id = parse_composite_key(composite)
        worker_name = _dead_worker(connection, job_id, execution_id, stale_after_s)
        if worker_name is None:
            continue
        if connection.zrem(registry_key, composite) != 1:
            continue  # another recoverer (or the worker finishing) got there first
        action = _requeue_or_fail(queue, job_id, execution_id, worker_name, max_abandoned)
        if action:
            recovered.append(RecoveredJob(job_id, worker_name, action))
    return recovered


def _dead_worker(connection: redis.Redis, job_id: str, execution_id: str, stale_after_s: float) -> str | None:
    """The dead worker's name ("" if unknown) if the execution is abandoned, else None."""
    execution = connection.hgetall(f"rq:execution:{job_id}:{execution_id}")
    if not execution:
        return ""
    worker_name = as_text(execution.get(b"worker_name", b""))
    worker = connection.hgetall(f"rq:worker:{worker_name}")
    if not worker or worker.get(b"death"):
        return worker_name
    if as_text(worker.get(b"hostname", b"")) == socket.gethostname():
        pids = [int(worker.get(field) or 0) for field in (b"pid", HORSE_PID_FIELD.encode())]
        if not any(_process_alive(pid) for pid in pids):
            _forget_worker(connection, worker_name, worker)
            return worker_name
        return None
    last_heartbeat = float(execution.get(b"last_heartbeat") or 0)
    return worker_name if time.time() - last_heartbeat > stale_after_s else None


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    # A killed child of a still-running parent (tests) lingers as a zombie until reaped.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): trust kill(0)


def _forget_worker(connection: redis.Redis, worker_name: str, worker: dict[Any, Any]) -> None:
    """Unregister a dead worker so ``baton status`` and ``rq info`` stop listing it."""
    key = f"rq:worker:{worker_name}"
    queues = as_text(worker.get(b"queues", b"")).split(",")
    with connection.pipeline() as pipe:
        pipe.srem("rq:workers", key)
        for name in filter(None, queues):
            pipe.srem(f"rq:workers:{name}", key)
        pipe.delete(key)
        pipe.execute()


def _requeue_or_fail(queue: Queue, job_id: str, execution_id: str, worker_name: str,
                     max_abandoned: int) -> str | None:
    connection: redis.Redis = queue.connection
    connection.delete(f"rq:execution:{job_id}:{execution_id}")
    connection.zrem(f"rq:executions:{job_id}", execution_id)
    try:
        job = Job.fetch(job_id, connection=connection, serializer=queue.serializer)
    except NoSuchJobError:
        return None
    abandoned = int(job.meta.get("abandoned", 0)) + 1
    job.meta["abandoned"] = abandoned
    if abandoned > max_abandoned:
        reason = f"abandoned {abandoned} times: its worker died each time (poison job?)"
        job.meta["failure"] = {"reason": reason, "error": {"type": "AbandonedJob", "message": reason},
                               "at": time.time()}
        with connection.pipeline() as pipe:
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            job.save_meta()
            job._handle_failure(reason, pipe, worker_name=worker_name)
            pipe.execute()
        log.error("job %s %s", job_id, reason)
        return "failed"
    job.save_meta()
    queue.enqueue_job(job, at_front=True)
    log.warning("job %s: worker %s died; requeued (abandoned %d time(s))", job_id, worker_name or "?",
                abandoned)
    return "requeued"
