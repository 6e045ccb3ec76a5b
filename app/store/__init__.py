"""Baton's store: record snapshots, watermarks, the append-only decision log, last written values,
manual holds, rules versions and sync runs, on SQLite or PostgreSQL (SQLAlchemy 2, Alembic).

Start with :class:`Store`; every method is one transaction, and :meth:`Store.unit_of_work` groups
several into one.
"""

from __future__ import annotations

from app.store.engine import DEFAULT_DATABASE_URL, create_store_engine, redacted_url
from app.store.entities import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    Hold,
    LastWrite,
    LoggedDecision,
    NewDecision,
    RulesVersionInfo,
    RunStatus,
    Snapshot,
    SyncMode,
    SyncRunInfo,
    new_id,
)
from app.store.errors import (
    RulesVersionRejected,
    StoreError,
    UnknownDecision,
    UnknownRulesVersion,
    UnknownRun,
)
from app.store.keys import content_version, decision_key
from app.store.store import Store, UnitOfWork

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Decision",
    "DecisionEvent",
    "DecisionStatus",
    "Hold",
    "LastWrite",
    "LoggedDecision",
    "NewDecision",
    "RulesVersionInfo",
    "RulesVersionRejected",
    "RunStatus",
    "Snapshot",
    "Store",
    "StoreError",
    "SyncMode",
    "SyncRunInfo",
    "UnitOfWork",
    "UnknownDecision",
    "UnknownRulesVersion",
    "UnknownRun",
    "content_version",
    "create_store_engine",
    "decision_key",
    "new_id",
    "redacted_url",
]
