"""Store fixtures: every store test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL gets a fresh database per test module (named ``baton_store_test_*``), dropped after the
module. Tests in one module share it, so each test works on its own CRM object name (``ns``) and
run ids instead of assuming an empty database.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.store import Store
from connectors.records import Crm, Record, RecordKind

PG_ADMIN_URL = os.environ.get("BATON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_PREFIX = "baton_store_test_"
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def _admin_execute(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test module; dropped afterwards."""
    module = re.sub(r"[^a-z0-9]", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"{DB_PREFIX}{module}_{uuid.uuid4().hex[:8]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store')}/baton.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="module")
def store(store_url: str) -> Iterator[Store]:
    """A migrated store, shared by the tests of one module on one database."""
    instance = Store(store_url)
    instance.migrate()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def ns() -> str:
    """A CRM object name unique to this test, so tests sharing a database do not see each other."""
    return f"Obj_{uuid.uuid4().hex[:12]}"


def make_record(
    object: str,
    index: int,
    *,
    crm: Crm = Crm.SALESFORCE,
    kind: RecordKind = RecordKind.LEAD,
    modified_at: datetime | None = None,
    deleted: bool = False,
    **fields: Any,
) -> Record:
    """A record with typed canonical fields of every kind the store must round-trip."""
    canonical: dict[str, Any] = {
        "stage": "nurturing",
        "email": f"lead{index}@example.com",
        "company_size": 120 + index,
        "seminar_attended": index % 2 == 0,
        "last_activity_date": date(2024, 2, 1) + timedelta(days=index % 20),
        "created_date": T0 - timedelta(days=30),
        "amount": Decimal("1250.50"),
        "score": None,
    }
    canonical.update(fields)
    record_id = f"00Q{index:015d}"
    raw = {
        "attributes": {"type": object},
        "Id": record_id,
        "Status": "Nurturing",
        "NumberOfEmployees": 120 + index,
    }
    return Record(
        crm=crm,
        object=object,
        kind=kind,
        id=record_id,
        modified_at=modified_at or T0 + timedelta(seconds=index),
        fields=canonical,
        raw=raw,
        deleted=deleted,
    )
