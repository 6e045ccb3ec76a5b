"""The loop in one process against both sandboxes over real sockets: sync -> rules -> write-back.

(The same steps through RQ worker processes are covered by tests/e2e.)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from app.config import default_config_for_sandboxes
from app.pipeline.context import PipelineContext
from app.pipeline.runner import run_inline, targets_for
from app.store import DecisionStatus
from connectors.sandbox.runner import RunningSandboxes, start_sandboxes

REDIS_DB = 14


@pytest.fixture()
def sandboxes() -> Iterator[RunningSandboxes]:
    with start_sandboxes(seed=21, records=150) as running:
        yield running


@pytest.fixture()
def ctx(sandboxes: RunningSandboxes, tmp_path: Path) -> Iterator[PipelineContext]:
    connection = redis.Redis(db=REDIS_DB)
    connection.flushdb()
    config = default_config_for_sandboxes(sandboxes.info, database_url=f"sqlite:///{tmp_path / 'baton.db'}")
    context = PipelineContext(config, connection, engine_name="python")
    yield context
    context.close()
    connection.flushdb()


def _admin(sandboxes: RunningSandboxes, crm: str, method: str, path: str, body: dict | None = None) -> dict:
    info = sandboxes.info[crm]
    base = info.get("instance_url") or info["host"]
    response = requests.request(method, f"{base}/_sandbox/{path}", json=body, timeout=10,
                                verify=info.get("ca_cert") or True)
    response.raise_for_status()
    return response.json() if response.content else {}


def _write_calls(sandboxes: RunningSandboxes) -> int:
    sf = _admin(sandboxes, "salesforce", "GET", "counters")["calls"]
    hs = _admin(sandboxes, "hubspot", "GET", "counters")["calls"]
    return sum(v for k, v in {**sf, **hs}.items() if "PATCH" in k or "batch/update" in k)


def test_full_sync_writes_and_a_second_sync_writes_nothing(ctx: PipelineContext, sandboxes: RunningSandboxes) -> None:
    first = run_inline(ctx, targets_for(ctx), full=True)
    assert first.counts["written"] > 0 and first.counts["failed"] == 0
    assert first.total_calls == first.total_minimum
    writes_before = _write_calls(sandboxes)
    second = run_inline(ctx, targets_for(ctx))
    assert second.counts["planned"] == 0 and second.counts["written"] == 0
    assert _write_calls(sandboxes) == writes_before


def test_dry_run_reads_and_decides_but_stores_and_writes_nothing(ctx: PipelineContext,
                                                                  sandboxes: RunningSandboxes) -> None:
    summary = run_inline(ctx, targets_for(ctx), dry_run=True)
    assert summary.counts["planned"] > 0 and summary.counts["written"] == 0
    assert _write_calls(sandboxes) == 0
    assert ctx.store.watermarks() == {}
    assert ctx.store.count_snapshots() == 0


def test_a_manual_stage_change_after_baton_wrote_is_held_back(ctx: PipelineContext,
                                                               sandboxes: RunningSandboxes) -> None:
    first = run_inline(ctx, targets_for(ctx, "salesforce", "Lead"), full=True)
    qualified = [d for d in ctx.store.run_decisions(first.run_id, status=DecisionStatus.WRITTEN)
                 if d.to_stage == "qualified"]
    assert qualified, "the seed should have leads the playbook qualifies"
    lead = qualified[0].record_id
    _admin(sandboxes, "salesforce", "POST", "edit", {"object": "Lead", "id": lead, "fields": {"Status": "Nurturing"}})
    second = run_inline(ctx, targets_for(ctx, "salesforce", "Lead"))
    held = [d for d in ctx.store.run_decisions(second.run_id) if d.record_id == lead]
    assert [d.status for d in held] == [DecisionStatus.HELD_BACK]
    assert "changed by hand" in held[0].reason
    record = next(r for r in _admin(sandboxes, "salesforce", "GET", "records/Lead") if r["Id"] == lead)
    assert record["Status"] == "Nurturing"
    hold = ctx.store.active_holds("salesforce", "Lead", [lead])[lead]["Status"]
    assert hold.held_until > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=6)


def test_a_record_edited_between_read_and_write_is_not_clobbered(ctx: PipelineContext,
                                                                 sandboxes: RunningSandboxes) -> None:
    leads = _admin(sandboxes, "salesforce", "GET", "records/Lead")
    victim = next(r for r in leads if r["Status"] == "Awareness" and r.get("Email"))
    _admin(sandboxes, "salesforce", "PUT", "faults", {"edit_after_read": [
        {"object": "Lead", "id": victim["Id"], "fields": {"Lead_Score__c": 7, "Status": "Disqualified"}}]})
    summary = run_inline(ctx, targets_for(ctx, "salesforce", "Lead"), full=True)
    assert summary.counts["conflict"] >= 1
    history = ctx.store.record_history("salesforce", "Lead", victim["Id"])
    assert history[0].status is DecisionStatus.CONFLICT
    after = next(r for r in _admin(sandboxes, "salesforce", "GET", "records/Lead") if r["Id"] == victim["Id"])
    assert after["Status"] == "Disqualified" and after["Lead_Score__c"] == 7


def test_a_rejected_record_fails_alone_and_the_batch_is_written(ctx: PipelineContext,
                                                                sandboxes: RunningSandboxes) -> None:
    contacts = _admin(sandboxes, "hubspot", "GET", "records/contacts")["results"]
    bad = contacts[3]["id"]
    _admin(sandboxes, "hubspot", "PUT", "faults", {"fail_records": {bad: "Injected validation failure"}})
    summary = run_inline(ctx, targets_for(ctx, "hubspot", "contacts"), full=True)
    assert summary.counts["failed"] == 1 and summary.counts["written"] > 50
    failed = ctx.store.record_history("hubspot", "contacts", bad)[0]
    assert failed.status is DecisionStatus.FAILED
    assert "Injected validation failure" in (failed.events[-1].detail or "")
