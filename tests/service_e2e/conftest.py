"""One live Baton for the end-to-end service tests: both sandboxes (sending webhooks), Redis DB 9,
a SQLite store, two real worker subprocesses and the web service on a real socket.

Built once per package (it costs a few seconds) and shared; each test picks its own records so the
tests do not depend on each other's order. Workers get their configuration the way a deployment
does: ``BATON_CONFIG`` names a YAML file without secrets, the secrets are environment variables,
and ``REDIS_URL`` points at database 9.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from app.config import load_config
from app.config_schema import BatonConfig
from app.demo.environment import write_config
from app.demo.webhooks_phase import LiveService, subscribe
from app.pipeline.context import PipelineContext
from app.pipeline.runner import run_queued, targets_for
from app.queueing import spawn_workers, stop_workers
from connectors.sandbox.salesforce.outbound import DEFAULT_ORGANIZATION_ID
from connectors.sandbox.webhooks import WebhookSenders, start_sandboxes_with_webhooks

REDIS_URL = "redis://127.0.0.1:6379/9"
RECORDS = 40
DEADLINE_S = 30.0
"""Upper bound when waiting for something to happen; never asserted as a duration."""


@dataclass
class Live:
    sandboxes: Any
    senders: WebhookSenders
    config: BatonConfig
    config_path: Path
    redis: redis.Redis
    ctx: PipelineContext
    service: LiveService
    first_run_id: str

    @property
    def info(self) -> dict[str, Any]:
        return self.sandboxes.info

    def hubspot_record(self, object_type: str, record_id: str) -> dict[str, Any]:
        with self.sandboxes.hubspot.store.lock:
            record = self.sandboxes.hubspot.store.get(object_type, record_id)
            return dict(record.properties) if record else {}

    def salesforce_record(self, object_name: str, record_id: str) -> dict[str, Any]:
        with self.sandboxes.salesforce.store.lock:
            return dict(self.sandboxes.salesforce.store.get(object_name, record_id) or {})

    def snapshot_ids(self, crm: str, object_name: str, field: str, value: str) -> list[str]:
        found: list[str] = []
        for page in self.ctx.store.iter_snapshots(crm=crm, object=object_name):
            found += [s.id for s in page if s.raw.get(field) == value]
        return found

    def queued_jobs(self) -> int:
        """Jobs waiting, running or scheduled on every Baton queue."""
        from app.queueing import get_queues
        return sum(q.count + q.started_job_registry.count + q.scheduled_job_registry.count
                   for q in get_queues(self.redis))

    def wait_idle(self, settle_s: float = 0.6) -> None:
        """Until the queues stay empty and no webhook is pending for ``settle_s`` seconds."""
        wait_for(lambda: self._idle_for(settle_s), "the queues to drain")

    def _idle_for(self, settle_s: float) -> bool:
        if self.queued_jobs() or self.senders.hubspot.deliverer.pending():
            return False
        time.sleep(settle_s)
        return not self.queued_jobs() and not self.senders.hubspot.deliverer.pending()


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (see the team brief for how to start it)")
    connection.flushdb()
    directory = tmp_path_factory.mktemp("service_e2e")
    sandboxes, senders = start_sandboxes_with_webhooks(records=RECORDS, seed=7, state_dir=directory / "sandbox")
    config_path, secrets = write_config(directory, sandboxes.info, f"sqlite:///{directory / 'baton.db'}")
    saved = {name: os.environ.get(name) for name in [*secrets, "BATON_CONFIG", "REDIS_URL"]}
    os.environ.update({**secrets, "BATON_CONFIG": str(config_path), "REDIS_URL": REDIS_URL})
    log = open(directory / "workers.log", "wb")  # noqa: SIM115 - open for the fixture's lifetime
    workers = spawn_workers(connection, 2, log_file=log)
    service = None
    try:
        config = load_config(config_path)
        ctx = PipelineContext(config, connection)
        first = run_queued(ctx, targets_for(ctx), full=True, timeout_s=120)
        assert first.finished, (directory / "workers.log").read_text()[-3000:]
        service = LiveService.start(config, connection, hubspot_secret=sandboxes.info["hubspot"]["client_secret"],
                                    organization_id=DEFAULT_ORGANIZATION_ID)
        subscribe(sandboxes.info, service, backoff_scale=0.001, batch_ms=20)
        yield Live(sandboxes, senders, config, config_path, connection, ctx, service, first.run_id)
    finally:
        if service is not None:
            service.stop()
        stop_workers(workers, timeout_s=20)
        log.close()
        senders.stop()
        sandboxes.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        connection.flushdb()
        connection.close()
