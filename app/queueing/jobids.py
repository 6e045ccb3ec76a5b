"""Deterministic job ids: the same trigger always yields the same id, so duplicates collapse.

rq accepts only ``[A-Za-z0-9_-]`` in job ids, so parts are joined with ``-`` and any other character
in a part becomes ``_`` (``sync:hubspot:contacts:incremental`` is spelt
``sync-hubspot-contacts-incremental``).
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def job_id(kind: str, *parts: object) -> str:
    """``kind-part1-part2...`` with every part made safe for rq."""
    return "-".join(_UNSAFE.sub("_", str(p)) for p in (kind, *parts))


def sync_job_id(crm: str, object_name: str, mode: str = "incremental") -> str:
    """One in-flight sync per (crm, object, mode)."""
    return job_id("sync", crm, object_name, mode)


def evaluate_job_id(crm: str, object_name: str, batch: Any) -> str:
    """One in-flight evaluation per (crm, object, batch content)."""
    return job_id("evaluate", crm, object_name, content_hash(batch))


def writeback_job_id(crm: str, object_name: str, batch: Any) -> str:
    """One in-flight write-back per (crm, object, batch content): re-planning the same writes is harmless."""
    return job_id("writeback", crm, object_name, content_hash(batch))


def content_hash(value: Any, length: int = 16) -> str:
    """A stable short hash of JSON-able content (key order does not matter)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:length]
