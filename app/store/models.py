"""The store's tables, as typed SQLAlchemy ORM models.

The schema is created only by the Alembic migrations in :mod:`app.migrations`; these models are the
reference the migrations are checked against (``tests/store/test_migrations.py``). The store's
queries use SQLAlchemy Core on these tables for speed (bulk upserts of whole pages).

Decisions and decision events are append-only: the API offers no update or delete, and the
migrations add database triggers that refuse UPDATE and DELETE on both tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.store.types import UtcDateTime, json_column_type

# Deterministic constraint names: Alembic needs them to alter SQLite tables (batch mode) and to
# compare models with the database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CRM_LEN, OBJECT_LEN, ID_LEN, FIELD_LEN = 16, 64, 64, 128


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UtcDateTime(),
        dict[str, Any]: json_column_type(),
        Any: json_column_type(),
    }


class RecordSnapshot(Base):
    """The last state read of one CRM record."""

    __tablename__ = "record_snapshots"
    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    object: Mapped[str] = mapped_column(String(OBJECT_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]]
    fields: Mapped[dict[str, Any]]
    modified_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (Index("ix_record_snapshots_kind", "kind", "crm", "object", "record_id"),)


class Watermark(Base):
    """Position of the incremental read per (crm, object)."""

    __tablename__ = "watermarks"
    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    object: Mapped[str] = mapped_column(String(OBJECT_LEN), primary_key=True)
    modified_at: Mapped[datetime]
    last_id: Mapped[str] = mapped_column(String(ID_LEN))
    updated_at: Mapped[datetime]


class Decision(Base):
    """One decision of the rules about one record (append-only)."""

    __tablename__ = "decisions"
    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    crm: Mapped[str] = mapped_column(String(CRM_LEN))
    object: Mapped[str] = mapped_column(String(OBJECT_LEN))
    record_id: Mapped[str] = mapped_column(String(ID_LEN))
    kind: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str | None] = mapped_column(String(128))
    ruleset_version: Mapped[str] = mapped_column(String(64))
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    explanation: Mapped[Any | None]
    record_modified_at: Mapped[datetime | None]
    decided_at: Mapped[datetime]

    __table_args__ = (Index("ix_decisions_record", "crm", "object", "record_id", "decided_at"),)


class DecisionEvent(Base):
    """A status change of a decision (append-only); the latest event is the current status."""

    __tablename__ = "decision_events"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(String(36), ForeignKey("decisions.decision_id"))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    crm_answer: Mapped[Any | None]
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_decision_events_decision", "decision_id", "event_id"),
        CheckConstraint(
            "status IN ('planned', 'held_back', 'written', 'failed', 'skipped', 'conflict')", name="status"
        ),
    )


class LastWrittenValue(Base):
    """The value Baton last wrote to one field of one record, to tell manual edits from its own."""

    __tablename__ = "last_written_values"
    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    object: Mapped[str] = mapped_column(String(OBJECT_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    field: Mapped[str] = mapped_column(String(FIELD_LEN), primary_key=True)
    value: Mapped[Any | None]
    written_at: Mapped[datetime]
    decision_id: Mapped[str | None] = mapped_column(String(36))


class ManualHold(Base):
    """A field a person changed by hand: Baton leaves it alone until ``held_until``."""

    __tablename__ = "manual_holds"
    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    object: Mapped[str] = mapped_column(String(OBJECT_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    field: Mapped[str] = mapped_column(String(FIELD_LEN), primary_key=True)
    observed_value: Mapped[Any | None]
    held_since: Mapped[datetime]
    held_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class RulesVersion(Base):
    """One uploaded rules file; every version is kept."""

    __tablename__ = "rules_versions"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str | None] = mapped_column(String(255))
    validation: Mapped[Any | None]
    activated_at: Mapped[datetime | None]


class ActiveRules(Base):
    """The single active rules version: one row at most, by construction (slot is always 1)."""

    __tablename__ = "active_rules"
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(64), ForeignKey("rules_versions.version"))
    activated_at: Mapped[datetime]
    activated_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (CheckConstraint("slot = 1", name="single_row"),)


class SyncRun(Base):
    """One sync run (incremental, full, dry run or webhook-triggered) of one CRM object."""

    __tablename__ = "sync_runs"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crm: Mapped[str] = mapped_column(String(CRM_LEN))
    object: Mapped[str | None] = mapped_column(String(OBJECT_LEN))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]]
    api_calls: Mapped[dict[str, Any]]
    error: Mapped[Any | None]

    __table_args__ = (
        Index("ix_sync_runs_crm_object_started", "crm", "object", "started_at"),
        CheckConstraint("mode IN ('incremental', 'full', 'dry_run', 'webhook')", name="mode"),
    )


metadata = Base.metadata


def table(model: type[Base]) -> Table:
    """The Core table of a model (typed as a Table, for Core statements)."""
    return cast(Table, model.__table__)
