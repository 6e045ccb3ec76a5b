"""Idempotency keys and content versions: stable hashes of what identifies a thing."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from app.store.jsoncodec import canonical_dumps


def decision_key(
    crm: str,
    object: str,
    record_id: str,
    ruleset_version: str,
    changes: dict[str, Any],
    record_modified_at: datetime | None,
) -> str:
    """The idempotency key of a decision: the same rules deciding the same change about the same
    record state give the same key, so a retried job neither logs nor writes twice. A later edit of
    the record (a new ``modified_at``) or a new ruleset version makes a new decision."""
    modified = record_modified_at.isoformat() if record_modified_at else ""
    payload = canonical_dumps([crm, object, record_id, ruleset_version, changes, modified])
    return hashlib.sha256(payload.encode()).hexdigest()


def content_version(content: str) -> str:
    """The version of a rules file: the first 16 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(content.encode()).hexdigest()[:16]
