"""Baton's rq worker: JSON serializer, queues in priority order, fast abandoned-job recovery, and an
optional leader-elected periodic scheduler in a child process.

Signals: the first SIGTERM/SIGINT is a warm shutdown (the current job finishes, then the worker exits
0); a second one more than a second later kills the job (rq's cold shutdown).
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job

from app.queueing.queues import get_queues
from app.queueing.recovery import HORSE_PID_FIELD, recover_abandoned
from app.queueing.scheduler import PeriodicScheduler, ScheduleEntry
from app.queueing.serializer import SERIALIZER
from connectors.errors import FatalError

log = logging.getLogger(__name__)

SCHEDULE_PROVIDER_ENV = "BATON_SCHEDULE"
PRELOAD_ENV = "BATON_WORKER_PRELOAD"
DEFAULT_PRELOAD = ("app.pipeline.jobs:warm_up,connectors.salesforce,connectors.hubspot,rules.durable_engine,"
                   "rules.pyengine")
"""``module:function`` returning the :class:`ScheduleEntry` list (default: the one below)."""
DEFAULT_SCHEDULE_PROVIDER = "app.schedules:schedule_entries"


@dataclass(frozen=True)
class WorkerOptions:
    """Tunables of a Baton worker; the defaults trade a few Redis calls for fast failure detection."""

    queues: Sequence[str] | None = None
    burst: bool = False
    with_scheduler: bool = False
    schedule_provider: str | None = None
    job_monitoring_interval_s: int = 5
    """Heartbeat period while a job runs (rq default 30 s): a dead worker is noticed sooner."""
    worker_ttl_s: int = 60
    """Worker key TTL (rq default 420 s); also bounds how long an idle worker blocks between maintenance."""
    maintenance_interval_s: int = 30
    """How often registries are cleaned and abandoned jobs recovered (rq default 600 s)."""
    logging_level: str = "INFO"


class BatonWorker(Worker):
    """rq ``Worker`` that records its work horse's pid and recovers abandoned jobs during maintenance."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        super().fork_work_horse(job, queue)
        # The horse runs in its own process group; recovery needs its pid to tell "parent killed, horse
        # still finishing the job" (leave it) from "both gone" (requeue).
        self.connection.hset(self.key, HORSE_PID_FIELD, self.horse_pid)

    def run_maintenance_tasks(self) -> None:
        recover_all(self.queues)
        super().run_maintenance_tasks()


def recover_all(queues: Sequence[Queue]) -> int:
    """Run :func:`recover_abandoned` on every queue; the number of jobs recovered."""
    total = 0
    for queue in queues:
        for item in recover_abandoned(queue):
            log.warning("recovered job %s of dead worker %s: %s", item.job_id, item.worker_name, item.action)
            total += 1
    return total


def stop_retries_on_fatal(job: Job, exc_type: type[BaseException], exc_value: BaseException,
                          traceback: TracebackType | None) -> bool:
    """rq exception handler: a FatalError never consumes enqueue-time retries (belt and braces: Baton's
    own enqueue path sets none, but a caller might)."""
    if isinstance(exc_value, FatalError):
        job.retries_left = 0
    return True


def build_worker(connection: redis.Redis, options: WorkerOptions) -> BatonWorker:
    """A worker on the Baton queues (all of them, in priority order, by default)."""
    return BatonWorker(get_queues(connection, options.queues), connection=connection, serializer=SERIALIZER,
                       exception_handlers=[stop_retries_on_fatal],
                       job_monitoring_interval=options.job_monitoring_interval_s,
                       worker_ttl=options.worker_ttl_s, maintenance_interval=options.maintenance_interval_s)


def run_worker(connection: redis.Redis, options: WorkerOptions) -> int:
    """Run a worker until it is stopped (or the queues are empty with ``burst``); the exit code."""
    preload(os.environ.get(PRELOAD_ENV, DEFAULT_PRELOAD))
    worker = build_worker(connection, options)
    recover_all(worker.queues)
    scheduler = None
    if options.with_scheduler:
        scheduler = start_periodic_scheduler(connection, options.schedule_provider)
    try:
        # rq's own scheduler (delayed jobs and retries) always runs: it holds a per-queue lock, so only
        # one worker actually schedules, and without it no retry would ever come back.
        worker.work(burst=options.burst, with_scheduler=True, logging_level=options.logging_level)
    finally:
        if scheduler is not None:
            _stop_process(scheduler)
    return 0


def preload(modules: str) -> None:
    """Import the job modules (and the SDKs they use) once in the worker parent; ``module:function``
    entries are also called (``app.pipeline.jobs:warm_up`` prepares config, schema and rules).

    rq forks a new process per job; without this every job would import them again (about a
    second each). Only imports happen here: connections, sessions and engine hosts are made in the
    forked job process, since they do not survive a fork.
    """
    for name in filter(None, (part.strip() for part in modules.split(","))):
        module_name, _, function = name.partition(":")
        try:
            module = importlib.import_module(module_name)
            if function:                 # "module:function": also call it (e.g. a warm-up)
                getattr(module, function)()
        except ImportError as exc:
            log.warning("could not preload %s: %s", name, exc)


def load_schedule(provider: str | None) -> list[ScheduleEntry]:
    """Entries from a ``module:function`` provider (``BATON_SCHEDULE`` env, else the default)."""
    spec = provider or os.environ.get(SCHEDULE_PROVIDER_ENV) or DEFAULT_SCHEDULE_PROVIDER
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name and spec == DEFAULT_SCHEDULE_PROVIDER:
            log.warning("no schedule provider (%s not found): the scheduler will fire nothing", module_name)
            return []
        raise
    return list(getattr(module, attribute or "schedule_entries")())


def start_periodic_scheduler(connection: redis.Redis, provider: str | None) -> BaseProcess:
    """Fork the periodic scheduler next to the worker (a thread would be copied into every fork()ed
    work horse with whatever locks it held)."""
    entries = load_schedule(provider)
    context = multiprocessing.get_context("fork")
    args = (_connection_kwargs(connection), entries, os.getpid())
    process = context.Process(target=_scheduler_main, args=args, name="baton-scheduler", daemon=True)
    process.start()
    return process


def _scheduler_main(connection_kwargs: dict[str, Any], entries: list[ScheduleEntry], parent_pid: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    connection = redis.Redis(connection_pool=redis.ConnectionPool(**connection_kwargs))
    PeriodicScheduler(connection, entries).run(stop, parent_pid=parent_pid)


def _connection_kwargs(connection: redis.Redis) -> dict[str, Any]:
    pool = connection.connection_pool
    return {"connection_class": pool.connection_class, **pool.connection_kwargs}


def _stop_process(process: BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
    process.join(timeout=5)
