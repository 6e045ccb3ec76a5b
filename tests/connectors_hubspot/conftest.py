"""The connector tests run against the same per-module sandbox portal as the sandbox tests."""
from __future__ import annotations

from tests.sandbox_hubspot.conftest import _clean, portal  # noqa: F401 - pytest fixtures, re-exported

__all__ = ["_clean", "portal"]
