"""Errors the store raises for misuse by callers (bad ids, invalid rules versions)."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors."""


class UnknownRulesVersion(StoreError):
    """No rules version with that id was uploaded."""


class RulesVersionRejected(StoreError):
    """The version failed validation when uploaded; it is kept but cannot be activated."""


class UnknownRun(StoreError):
    """No sync run with that id."""


class UnknownDecision(StoreError):
    """No decision with that id."""
