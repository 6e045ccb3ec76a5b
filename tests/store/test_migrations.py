"""The migrations create exactly the schema the models describe, and run from the package."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.store import Store
from app.store.migrate import MIGRATIONS_DIR, alembic_config, downgrade
from app.store.models import metadata


def _diff(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def test_models_and_migrations_agree(store: Store) -> None:
    assert store.schema_revision() == "0001"
    assert _diff(store) == []


def test_downgrade_to_base_and_back_to_head(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.migrate()
        downgrade(store.engine, "base")
        assert store.schema_revision() is None
        assert _diff(store)  # every table is gone again

        store.migrate()
        assert _diff(store) == []
        store.migrate()  # idempotent: already at head
        assert store.schema_revision() == "0001"
    finally:
        store.close()


def test_migrations_ship_inside_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location"))  # type: ignore[arg-type]

    assert location == MIGRATIONS_DIR and (location / "env.py").is_file()
    assert (location / "versions" / "0001_initial_schema.py").is_file()
    assert Path(__file__).resolve().parents[2] / "app" in location.parents
