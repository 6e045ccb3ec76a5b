"""End-to-end fixtures: every scenario runs on SQLite and on PostgreSQL (a fresh ``baton_e2e_*``
database, dropped afterwards), with real Redis (DB 7), real worker processes and real HTTP."""
from __future__ import annotations

import pytest

STORES = ("sqlite", "postgres")


@pytest.fixture(scope="module", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
