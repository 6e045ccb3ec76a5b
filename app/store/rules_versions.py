"""Rules versions: every uploaded rules file is kept; exactly one is active."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from app.store.base import StoreMixin
from app.store.entities import RulesVersionInfo
from app.store.errors import RulesVersionRejected, UnknownRulesVersion
from app.store.keys import content_version
from app.store.models import ActiveRules, RulesVersion, table
from app.store.sql import insert_ignoring_conflicts, upsert
from app.store.types import utc_now

_V = table(RulesVersion)
_A = table(ActiveRules)


def _info(row: Any, active_version: str | None) -> RulesVersionInfo:
    return RulesVersionInfo(
        version=row.version,
        name=row.name,
        content=row.content,
        uploaded_at=row.uploaded_at,
        uploaded_by=row.uploaded_by,
        validation=row.validation,
        activated_at=row.activated_at,
        active=row.version == active_version,
    )


def validation_passed(validation: Any) -> bool:
    """A validation result refuses activation when it is a dict saying ``ok``/``valid`` is false."""
    if isinstance(validation, dict):
        return all(validation.get(flag, True) is not False for flag in ("ok", "valid"))
    return True


def _active_version(connection: Connection) -> str | None:
    return connection.execute(select(_A.c.version).where(_A.c.slot == 1)).scalar_one_or_none()


class RulesVersionsMixin(StoreMixin):
    def add_rules_version(
        self, content: str, *, name: str, uploaded_by: str | None = None, validation: Any = None
    ) -> RulesVersionInfo:
        """Keep an uploaded rules file; its version is the hash of its text (see
        :func:`app.store.keys.content_version`). Uploading the same text again changes nothing and
        returns the stored version. Adding never activates."""
        version = content_version(content)
        row = {
            "version": version,
            "name": name,
            "content": content,
            "uploaded_at": utc_now(),
            "uploaded_by": uploaded_by,
            "validation": validation,
            "activated_at": None,
        }
        with self._begin() as connection:
            insert_ignoring_conflicts(connection, _V, [row], keys=("version",))
            stored = connection.execute(select(_V).where(_V.c.version == version)).one()
            return _info(stored, _active_version(connection))

    def get_rules_version(self, version: str) -> RulesVersionInfo | None:
        with self._begin(read_only=True) as connection:
            row = connection.execute(select(_V).where(_V.c.version == version)).first()
            return _info(row, _active_version(connection)) if row else None

    def rules_versions(self) -> list[RulesVersionInfo]:
        """Every uploaded version, newest upload first."""
        with self._begin(read_only=True) as connection:
            active = _active_version(connection)
            rows = connection.execute(select(_V).order_by(_V.c.uploaded_at.desc(), _V.c.version))
            return [_info(row, active) for row in rows]

    def active_rules_version(self) -> RulesVersionInfo | None:
        """The active version, or None before the first activation."""
        with self._begin(read_only=True) as connection:
            row = connection.execute(select(_V).join(_A, _A.c.version == _V.c.version)).first()
            return _info(row, row.version) if row else None

    def activate_rules_version(self, version: str, *, activated_by: str | None = None) -> RulesVersionInfo:
        """Make ``version`` the one active version, atomically.

        Raises :class:`UnknownRulesVersion` if it was never uploaded and :class:`RulesVersionRejected`
        if its validation failed; the previously active version then stays active.
        """
        now = utc_now()
        with self._begin() as connection:
            row = connection.execute(select(_V).where(_V.c.version == version)).first()
            if row is None:
                raise UnknownRulesVersion(f"no rules version {version!r} was uploaded")
            if not validation_passed(row.validation):
                raise RulesVersionRejected(
                    f"rules version {version!r} failed validation and cannot be activated"
                )
            upsert(
                connection,
                _A,
                [{"slot": 1, "version": version, "activated_at": now, "activated_by": activated_by}],
                keys=("slot",),
                update=("version", "activated_at", "activated_by"),
            )
            connection.execute(update(_V).where(_V.c.version == version).values(activated_at=now))
            stored = connection.execute(select(_V).where(_V.c.version == version)).one()
            return _info(stored, version)
