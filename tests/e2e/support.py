"""A running Baton loop for end-to-end tests: sandboxes on real sockets, real Redis, real RQ workers.

:class:`Loop` is what a deployment looks like, shrunk: both CRM sandboxes (seeded), a configuration
file with no secrets in it (secrets in the workers' environment), a SQLite or PostgreSQL store, Redis
DB 7 and ``python worker.py`` processes started by :func:`app.queueing.spawn_workers`. The test
process talks to the sandboxes only through their HTTP admin API (``/_sandbox/...``).
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
import sqlalchemy as sa

from app.config import load_config
from app.demo.environment import write_config
from app.pipeline.context import PipelineContext
from app.pipeline.runner import RunSummary, run_queued, targets_for
from app.queueing import spawn_workers, stop_workers
from app.queueing.recovery import HORSE_PID_FIELD
from connectors.records import Record
from connectors.sandbox.runner import RunningSandboxes, start_sandboxes

REDIS_URL = "redis://127.0.0.1:6379/7"           # the e2e suite's own Redis DB (flushed at each start)
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_ADMIN_URL = f"{POSTGRES_SERVER}/test"
DB_PREFIX = "baton_e2e_"
RUN_TIMEOUT_S = 120.0


# ------------------------------------------------------------------------------------------ stores
@contextmanager
def store_url(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database URL of ``kind`` ("sqlite" or "postgres"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'baton.db'}"
        return
    name = f"{DB_PREFIX}{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------------------------- sandbox API
@dataclass
class SandboxAdmin:
    """The admin API (``/_sandbox/...``) of one sandbox, over HTTP."""

    base_url: str
    verify: str | bool
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.trust_env = False     # never a proxy between the tests and 127.0.0.1

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/_sandbox/{path}", verify=self.verify,
                                        timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_faults(self, **plan: Any) -> None:
        self._call("PUT", "faults", json=plan)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "counters")

    def reset_counters(self) -> None:
        self._call("DELETE", "counters")

    def edit(self, object_name: str, record_id: str, values: dict[str, Any]) -> None:
        self._call("POST", "edit", json={"object": object_name, "id": record_id, "fields": values})

    def records(self, object_name: str) -> dict[str, dict[str, Any]]:
        """Every record of an object by id (raw CRM field values)."""
        rows = self._call("GET", f"records/{object_name}")
        rows = rows.get("results", rows) if isinstance(rows, dict) else rows
        return {str(r.get("Id") or r.get("id")): _flat(r) for r in rows}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """HubSpot rows keep values under "properties"; Salesforce rows are flat."""
    if isinstance(row.get("properties"), dict):
        return {**row["properties"], "id": row.get("id")}
    return row


def calls(counters: dict[str, Any], part: str) -> int:
    """Calls to every endpoint whose key contains ``part`` (e.g. "composite/sobjects")."""
    return sum(n for key, n in counters["calls"].items() if part in key)


def records_sent(counters: dict[str, Any], part: str) -> int:
    return sum(n for key, n in counters["records"].items() if part in key)


WRITE_ENDPOINTS = {"salesforce": ("PATCH composite/sobjects", "PATCH sobjects/"),
                   "hubspot": ("batch/update", "PATCH /crm/v3/objects/")}


def write_calls(counters: dict[str, Any], crm: str) -> int:
    return sum(calls(counters, part) for part in WRITE_ENDPOINTS[crm])


# -------------------------------------------------------------------------------------------- loop
@dataclass
class Loop:
    """Sandboxes, store, Redis, configuration and workers of one end-to-end scenario."""

    directory: Path
    sandboxes: RunningSandboxes
    ctx: PipelineContext
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_file: Any = None

    @property
    def redis(self) -> redis.Redis:
        return self.ctx.redis

    def admin(self, crm: str) -> SandboxAdmin:
        info = self.sandboxes.info[crm]
        return SandboxAdmin(info.get("instance_url") or info["host"], info.get("ca_cert") or True)

    def start_workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        with _environment(self.env):
            started = spawn_workers(self.redis, count, log_file=self.log_file)
        self.workers += started
        return started

    def horse_pids(self) -> dict[int, int]:
        """Worker pid -> pid of the work horse running its current job (rq forks one per job)."""
        result: dict[int, int] = {}
        for key in self.redis.smembers("rq:workers"):
            worker = self.redis.hgetall(key)
            if worker.get(b"pid") and worker.get(HORSE_PID_FIELD.encode()):
                result[int(worker[b"pid"])] = int(worker[HORSE_PID_FIELD.encode()])
        return result

    def kill_workers(self, processes: list[subprocess.Popen[bytes]]) -> None:
        """SIGKILL each worker's process group and its work horse's (rq puts the horse in a session
        of its own, so killing the worker's group alone leaves the job running to completion)."""
        horses = self.horse_pids()
        for process in processes:
            horse = horses.get(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            if horse:
                _kill_group_of(horse)
            process.wait(timeout=10)
            self.workers.remove(process)

    def sync(self, *, full: bool = False, timeout_s: float = RUN_TIMEOUT_S) -> RunSummary:
        summary = run_queued(self.ctx, targets_for(self.ctx), full=full, timeout_s=timeout_s, poll_s=0.1)
        assert summary.finished, f"run {summary.run_id} did not finish in {timeout_s} s: {summary.notes}"
        return summary

    def read_all(self, crm: str, object_name: str) -> list[Record]:
        """Every record of an object through the connector (the real SDK over HTTP)."""
        connector = self.ctx.connector(crm)
        records = [r for page in connector.read_changed(object_name, None, lookback=dt.timedelta(0)) for r in page]
        connector.ledger.reset()
        return records

    def stop(self) -> None:
        if self.workers:
            stop_workers(self.workers, timeout_s=20)
            self.workers.clear()
        self.ctx.close()
        self.ctx.store.close()
        self.sandboxes.stop()
        if self.log_file is not None:
            self.log_file.close()


def _kill_group_of(pid: int) -> None:
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except ProcessLookupError:
        return                                    # it had finished its job already
    wait_for(lambda: not _alive(pid), timeout_s=10, what=f"work horse {pid} to die")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` while workers are spawned (they copy it), then as it was."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_loop(directory: Path, store_kind: str, *, records: int, workers: int = 2,
                 seed: int = 7) -> Iterator[Loop]:
    """Start everything for one scenario; stop and drop it all afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    with store_url(store_kind, directory) as database_url:
        sandboxes = start_sandboxes(seed=seed, records=records, state_dir=directory / "sandbox")
        config_path, secrets = write_config(directory, sandboxes.info, database_url)
        env = {**secrets, "BATON_CONFIG": str(config_path), "REDIS_URL": REDIS_URL, "BATON_DATABASE_URL": database_url}
        config = load_config(config_path, env={**os.environ, **env})
        loop = Loop(directory, sandboxes, PipelineContext(config, connection), env,
                    log_file=open(directory / "workers.log", "wb"))  # noqa: SIM115 - closed by Loop.stop()
        try:
            loop.ctx.store.migrate()
            loop.start_workers(workers)
            yield loop
        finally:
            loop.stop()
            connection.flushdb()
            connection.close()


def wait_for(predicate: Any, timeout_s: float = 60.0, poll_s: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (no timing is asserted: only liveness)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
