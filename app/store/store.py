"""The :class:`Store`: Baton's database, behind one small API where each method is one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from app.store.decisions import DecisionsMixin
from app.store.engine import READ_ONLY_OPTION, create_store_engine
from app.store.migrate import current_revision, migrate
from app.store.rules_versions import RulesVersionsMixin
from app.store.snapshots import SnapshotsMixin
from app.store.sync_runs import SyncRunsMixin
from app.store.watermarks import WatermarksMixin
from app.store.writes import WritesMixin


class _StoreApi(
    SnapshotsMixin, WatermarksMixin, DecisionsMixin, WritesMixin, RulesVersionsMixin, SyncRunsMixin
):
    """Every store operation; how transactions are opened is left to the subclasses."""


class UnitOfWork(_StoreApi):
    """The store's API on one open transaction: everything done through it commits together when
    the ``with store.unit_of_work()`` block ends, or not at all if it raises.

    Typical use: store a page's snapshots and advance the watermark atomically, so a crash between
    the two can never move the watermark past records that were not stored.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def connection(self) -> Connection:
        """The unit's SQLAlchemy connection, for queries the API does not offer (reports, tests)."""
        return self._connection

    @contextmanager
    def _begin(self, *, read_only: bool = False) -> Iterator[Connection]:
        yield self._connection


class Store(_StoreApi):
    """Baton's store on SQLite (default ``./.baton/baton.db``) or PostgreSQL (a URL).

    >>> store = Store("sqlite:///./.baton/baton.db"); store.migrate()
    >>> with store.unit_of_work() as uow:
    ...     uow.upsert_records(page); uow.set_watermark("salesforce", "Lead", page[-1].watermark)
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, echo: bool = False) -> None:
        self.engine = engine or create_store_engine(url, echo=echo)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Create or upgrade the schema to the latest migration (Alembic ``upgrade head``)."""
        migrate(self.engine)

    def schema_revision(self) -> str | None:
        """The migration the database is at (None: not migrated yet)."""
        return current_revision(self.engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction for several operations; committed at the end of the block, rolled back
        if the block raises."""
        with self._begin() as connection:
            yield UnitOfWork(connection)

    @contextmanager
    def _begin(self, *, read_only: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            if read_only:
                connection.execution_options(**{READ_ONLY_OPTION: True})
            with connection.begin():
                yield connection

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
