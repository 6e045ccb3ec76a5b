"""Sync runs: start, progress, finish, listing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.store import RunStatus, Store, SyncMode, UnknownRun
from tests.store.conftest import T0


def test_run_round_trip(store: Store, ns: str) -> None:
    started = store.start_run("salesforce", ns, "incremental", started_at=T0)
    store.update_run(started.run_id, counts={"read": 200})

    finished = store.finish_run(
        started.run_id,
        RunStatus.FAILED,
        counts={"read": 400, "written": 3},
        api_calls={"read": {"calls": 1, "minimum": 1}},
        error={"type": "RateLimited", "retry_after": 20},
        finished_at=T0 + timedelta(1),
    )

    assert started.status is RunStatus.RUNNING and started.mode is SyncMode.INCREMENTAL
    assert finished == store.get_run(started.run_id)
    assert finished.counts == {"read": 400, "written": 3}
    assert finished.api_calls == {"read": {"calls": 1, "minimum": 1}}
    assert finished.error == {"type": "RateLimited", "retry_after": 20}
    assert (finished.started_at, finished.finished_at) == (T0, T0 + timedelta(days=1))


def test_recent_runs_newest_first_and_filtered(store: Store, ns: str) -> None:
    ids = [
        store.start_run("hubspot", ns, mode, started_at=T0 + timedelta(minutes=i)).run_id
        for i, mode in enumerate(["full", "incremental", "dry_run", "webhook"])
    ]
    store.finish_run(ids[0], "succeeded")

    assert [r.run_id for r in store.recent_runs(object=ns)] == ids[::-1]
    assert [r.run_id for r in store.recent_runs(object=ns, mode="full")] == [ids[0]]
    assert [r.run_id for r in store.recent_runs(object=ns, status=RunStatus.RUNNING, limit=2)] == [
        ids[3],
        ids[2],
    ]


def test_unknown_runs_and_modes_are_refused(store: Store, ns: str) -> None:
    with pytest.raises(UnknownRun):
        store.finish_run(str(uuid.uuid4()), "succeeded")
    with pytest.raises(ValueError):
        store.start_run("salesforce", ns, "nightly")
