"""Initial schema: snapshots, watermarks, the decision log, last writes, holds, rules versions, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Migrations use plain SQLAlchemy types (not app code) so that they keep working when the app changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("decisions", "decision_events")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def _record_key() -> list[sa.Column]:
    return [
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    _create_snapshots_and_watermarks()
    _create_decision_log()
    _create_write_tracking()
    _create_rules_versions()
    _create_sync_runs()
    _forbid_update_and_delete(*APPEND_ONLY_TABLES)


def _create_snapshots_and_watermarks() -> None:
    op.create_table(
        "record_snapshots",
        *_record_key(),
        sa.Column("kind", sa.String(32), nullable=False),
        _json("raw"),
        _json("fields"),
        _ts("modified_at"),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        sa.PrimaryKeyConstraint("crm", "object", "record_id", name=op.f("pk_record_snapshots")),
    )
    op.create_index("ix_record_snapshots_kind", "record_snapshots", ["kind", "crm", "object", "record_id"])
    op.create_table(
        "watermarks",
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        _ts("modified_at"),
        sa.Column("last_id", sa.String(64), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("crm", "object", name=op.f("pk_watermarks")),
    )


def _create_decision_log() -> None:
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        *_record_key(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=True),
        sa.Column("ruleset_version", sa.String(64), nullable=False),
        sa.Column("from_stage", sa.String(64), nullable=True),
        sa.Column("to_stage", sa.String(64), nullable=True),
        _json("changes"),
        sa.Column("reason", sa.Text(), nullable=False),
        _json("explanation", nullable=True),
        _ts("record_modified_at", nullable=True),
        _ts("decided_at"),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_decisions_idempotency_key")),
    )
    op.create_index("ix_decisions_record", "decisions", ["crm", "object", "record_id", "decided_at"])
    op.create_index("ix_decisions_run_id", "decisions", ["run_id"])
    op.create_table(
        "decision_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("at"),
        _json("crm_answer", nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'held_back', 'written', 'failed', 'skipped', 'conflict')",
            name=op.f("ck_decision_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.decision_id"], name=op.f("fk_decision_events_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_decision_events")),
    )
    op.create_index("ix_decision_events_decision", "decision_events", ["decision_id", "event_id"])


def _create_write_tracking() -> None:
    op.create_table(
        "last_written_values",
        *_record_key(),
        sa.Column("field", sa.String(128), nullable=False),
        _json("value", nullable=True),
        _ts("written_at"),
        sa.Column("decision_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("crm", "object", "record_id", "field", name=op.f("pk_last_written_values")),
    )
    op.create_table(
        "manual_holds",
        *_record_key(),
        sa.Column("field", sa.String(128), nullable=False),
        _json("observed_value", nullable=True),
        _ts("held_since"),
        _ts("held_until"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "object", "record_id", "field", name=op.f("pk_manual_holds")),
    )


def _create_rules_versions() -> None:
    op.create_table(
        "rules_versions",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _ts("uploaded_at"),
        sa.Column("uploaded_by", sa.String(255), nullable=True),
        _json("validation", nullable=True),
        _ts("activated_at", nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rules_versions")),
    )
    op.create_table(
        "active_rules",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        _ts("activated_at"),
        sa.Column("activated_by", sa.String(255), nullable=True),
        sa.CheckConstraint("slot = 1", name=op.f("ck_active_rules_single_row")),
        sa.ForeignKeyConstraint(
            ["version"], ["rules_versions.version"], name=op.f("fk_active_rules_version_rules_versions")
        ),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_active_rules")),
    )


def _create_sync_runs() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        _json("counts"),
        _json("api_calls"),
        _json("error", nullable=True),
        sa.CheckConstraint(
            "mode IN ('incremental', 'full', 'dry_run', 'webhook')", name=op.f("ck_sync_runs_mode")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_crm_object_started", "sync_runs", ["crm", "object", "started_at"])


def _forbid_update_and_delete(*tables: str) -> None:
    """The audit log is append-only, also for anyone with a SQL prompt: refuse UPDATE and DELETE."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION baton_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION baton_append_only()"
            )
        elif dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif dialect == "sqlite":
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS baton_append_only()")
    for table in (
        "sync_runs",
        "active_rules",
        "rules_versions",
        "manual_holds",
        "last_written_values",
        "decision_events",
        "decisions",
        "watermarks",
        "record_snapshots",
    ):
        op.drop_table(table)
