"""A worker SIGKILLed (with its work horse) in the middle of a Salesforce write-back: a new worker
recovers the abandoned job at start-up and every planned decision is written exactly once. The
Salesforce sandbox answers writes slowly (latency) so the kill lands inside the write-back job.
Small data (200 leads per CRM)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job

from app.pipeline.runner import RunSummary
from app.queueing import SERIALIZER, WRITEBACK_QUEUE, get_queue
from app.store import Decision, DecisionStatus
from tests.e2e.support import Loop, records_sent, running_loop, wait_for

WRITE_LATENCY_MS = 1500
SF_WRITE = "PATCH composite/sobjects"


@dataclass
class KilledRun:
    loop: Loop
    killed_job: str
    summary: RunSummary
    decisions: list[Decision] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)


def _salesforce_writeback_started(loop: Loop) -> str | None:
    started = get_queue(WRITEBACK_QUEUE, loop.redis).started_job_registry.get_job_ids()
    return next((j for j in started if j.startswith("writeback-salesforce-")), None)


def _run_in_background(loop: Loop) -> tuple[threading.Thread, dict[str, RunSummary]]:
    result: dict[str, RunSummary] = {}
    thread = threading.Thread(target=lambda: result.update(summary=loop.sync(full=True, timeout_s=150)), daemon=True)
    thread.start()
    return thread, result


@pytest.fixture(scope="module")
def killed(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KilledRun]:
    directory = Path(tmp_path_factory.mktemp(f"killed-{store_kind}"))
    with running_loop(directory, store_kind, records=200, workers=1) as loop:
        salesforce = loop.admin("salesforce")
        salesforce.set_faults(latency_ms=WRITE_LATENCY_MS, endpoints=[SF_WRITE])
        salesforce.reset_counters()
        thread, result = _run_in_background(loop)
        job_id = wait_for(lambda: _salesforce_writeback_started(loop), timeout_s=90,
                          what="a Salesforce write-back job to start")
        time.sleep(WRITE_LATENCY_MS / 3000)             # inside the slow write call
        loop.kill_workers(list(loop.workers))
        # Let the dead worker's in-flight request finish on the server before anyone re-verifies.
        time.sleep(WRITE_LATENCY_MS / 1000 + 0.5)
        salesforce.clear_faults()
        loop.start_workers(1)
        thread.join(timeout=160)
        assert "summary" in result, "the run never finished after the kill"
        state = KilledRun(loop, job_id, result["summary"])
        state.decisions = loop.ctx.store.run_decisions(state.summary.run_id)
        state.counters = salesforce.counters()
        yield state


def test_the_killed_job_was_recovered(killed: KilledRun) -> None:
    job = Job.fetch(killed.killed_job, connection=killed.loop.redis, serializer=SERIALIZER)
    assert job.meta.get("abandoned") == 1, job.meta
    assert job.get_status() == "finished"


def test_every_planned_decision_is_written(killed: KilledRun) -> None:
    statuses = {d.decision_id: d.status for d in killed.decisions}
    assert statuses and set(statuses.values()) == {DecisionStatus.WRITTEN}, \
        {str(s): sum(1 for v in statuses.values() if v is s) for s in set(statuses.values())}


def test_no_decision_is_written_twice(killed: KilledRun) -> None:
    store = killed.loop.ctx.store
    for decision in killed.decisions:
        full = store.get_decision(decision.decision_id)
        assert full is not None
        written = [e for e in full.events if e.status is DecisionStatus.WRITTEN]
        assert len(written) == 1, f"{decision.record_id}: {len(written)} written events"


def test_salesforce_received_each_write_exactly_once(killed: KilledRun) -> None:
    """The records carried by the CRM's write calls equal the Salesforce decisions: none lost,
    none sent twice (whether or not the killed call reached the server before the kill)."""
    salesforce = [d for d in killed.decisions if d.crm == "salesforce"]
    assert records_sent(killed.counters, SF_WRITE) == len(salesforce), \
        (records_sent(killed.counters, SF_WRITE), len(salesforce), killed.counters["calls"])


def test_the_written_values_are_in_the_crm(killed: KilledRun) -> None:
    rows = {o: killed.loop.admin("salesforce").records(o) for o in ("Lead", "Opportunity")}
    for decision in (d for d in killed.decisions if d.crm == "salesforce"):
        row = rows[decision.object][decision.record_id]
        for name, value in decision.explanation["write"].items():
            assert str(row.get(name)).lower().removesuffix(".0") == str(value).lower().removesuffix(".0"), \
                (decision.record_id, name, row.get(name), value)
