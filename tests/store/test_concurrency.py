"""Several worker processes logging the same decisions at once still log each one exactly once."""

from __future__ import annotations

import multiprocessing

from app.store import NewDecision, Store
from app.store.entities import LoggedDecision

WORKERS = 4


def _log_batch(url: str, ns: str) -> list[LoggedDecision]:
    store = Store(url)
    try:
        batch = [
            NewDecision(
                crm="hubspot",
                object=ns,
                record_id=str(i),
                kind="lead",
                ruleset_version="v1",
                changes={"stage": {"from": "lead", "to": "marketingqualifiedlead"}},
                reason="score",
            )
            for i in range(50)
        ]
        return store.log_decisions(batch)
    finally:
        store.close()


def test_concurrent_retries_log_once(store: Store, store_url: str, ns: str) -> None:
    """Four processes (real concurrency, separate connections) log the same 50 decisions."""
    context = multiprocessing.get_context("fork")  # a fresh Store (engine) per process
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(_log_batch, [(store_url, ns)] * WORKERS)

    created = [answer for result in results for answer in result if answer.created]
    assert len(created) == 50
    assert len({answer.decision_id for result in results for answer in result}) == 50
    assert len(store.pending_decisions("hubspot", ns)) == 50
    assert all(len(d.events) == 1 for d in (store.get_decision(a.decision_id) for a in created) if d)
