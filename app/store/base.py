"""What every part of the store's API builds on: a way to run one transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection


class StoreMixin:
    """Base of the API mixins. Every public method runs inside one ``_begin()`` transaction.

    :class:`~app.store.store.Store` opens a new transaction per call; a
    :class:`~app.store.store.UnitOfWork` hands out its one transaction, so several calls commit or
    roll back together.
    """

    def _begin(self, *, read_only: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError
