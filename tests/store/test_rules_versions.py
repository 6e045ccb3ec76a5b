"""Rules versions: every upload kept, one active, activation atomic and guarded by validation."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.store import RulesVersionRejected, Store, UnknownRulesVersion, content_version
from app.store.models import ActiveRules


def rules_text(threshold: int) -> str:
    # Unique per test run: the module's database is shared by its tests.
    return f"# {uuid.uuid4()}\nrules:\n  - id: qualify\n    when: score >= {threshold}\n"


def test_upload_keeps_content_and_versions_by_hash(store: Store) -> None:
    content = rules_text(100)

    added = store.add_rules_version(
        content, name="the-model.yaml", uploaded_by="ops@example.com", validation={"ok": True, "warnings": []}
    )
    again = store.add_rules_version(content, name="renamed.yaml")

    assert added.version == content_version(content) == again.version
    assert again.name == "the-model.yaml" and again.uploaded_at == added.uploaded_at  # kept, not replaced
    stored = store.get_rules_version(added.version)
    assert (
        stored is not None and stored.content == content and stored.validation == {"ok": True, "warnings": []}
    )
    assert not stored.active and stored.activated_at is None


def test_activate_keeps_exactly_one_active_and_every_version(store: Store) -> None:
    first = store.add_rules_version(rules_text(100), name="v1")
    second = store.add_rules_version(rules_text(80), name="v2")

    store.activate_rules_version(first.version, activated_by="admin")
    activated = store.activate_rules_version(second.version)

    assert activated.active and activated.activated_at is not None
    assert store.active_rules_version().version == second.version  # type: ignore[union-attr]
    versions = {v.version: v for v in store.rules_versions()}
    assert {first.version, second.version} <= set(versions)
    assert [v.version for v in versions.values() if v.active] == [second.version]
    assert versions[first.version].activated_at is not None  # it was active once
    with store.unit_of_work() as uow:
        assert uow.connection.execute(select(func.count()).select_from(ActiveRules)).scalar_one() == 1


def test_a_rejected_version_is_kept_but_never_activated(store: Store) -> None:
    good = store.add_rules_version(rules_text(100), name="good")
    store.activate_rules_version(good.version)
    bad = store.add_rules_version(
        "rules: [", name="broken", validation={"ok": False, "errors": ["line 1: ..."]}
    )

    with pytest.raises(RulesVersionRejected):
        store.activate_rules_version(bad.version)

    assert store.active_rules_version().version == good.version  # type: ignore[union-attr]
    assert store.get_rules_version(bad.version) is not None


def test_activating_an_unknown_version_changes_nothing(store: Store) -> None:
    current = store.add_rules_version(rules_text(90), name="current")
    store.activate_rules_version(current.version)

    with pytest.raises(UnknownRulesVersion):
        store.activate_rules_version("0000000000000000")

    assert store.active_rules_version().version == current.version  # type: ignore[union-attr]
