"""Engine set-up: the default SQLite location, and no password in a store's repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import DEFAULT_DATABASE_URL, Store


def test_the_default_database_is_a_sqlite_file_under_dot_baton(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with Store() as store:
        store.migrate()
        assert store.dialect == "sqlite" and store.schema_revision() == "0001"

    assert DEFAULT_DATABASE_URL == "sqlite:///./.baton/baton.db"
    assert (tmp_path / ".baton" / "baton.db").is_file()


def test_repr_hides_the_database_password() -> None:
    store = Store("postgresql+psycopg://baton:pg-S3cret@db.invalid:5432/baton")  # never connects

    assert "pg-S3cret" not in repr(store) and "baton:***@db.invalid" in repr(store)
