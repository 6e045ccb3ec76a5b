"""Canonical stage <-> CRM field values, as declared per stage under ``crm:`` in the rules file.

The pipeline reads a CRM record's stage fields (e.g. Salesforce ``Status``; HubSpot
``lifecyclestage`` + ``hs_lead_status``) and needs the canonical stage for the rules, then writes a
decided stage back as CRM field values.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.ir import Ruleset


class StageMappingError(KeyError):
    """The ruleset declares no CRM values for a stage (or kind, or CRM)."""


def _alternatives(ruleset: Ruleset, kind: str, crm: str) -> list[tuple[str, dict[str, str]]]:
    pairs = [(stage.name, alternative) for stage in ruleset.kind(kind).stages
             for alternative in stage.crm.get(crm, ())]
    # Most specific first: {lifecyclestage: lead, hs_lead_status: NEW} before {lifecyclestage: lead}.
    return sorted(pairs, key=lambda pair: -len(pair[1]))


def stage_from_crm(ruleset: Ruleset, kind: str, crm: str, values: Mapping[str, Any]) -> str | None:
    """The canonical stage whose declared CRM values all equal ``values`` (None if none does).

    Values are compared as text; the most specific declaration (most fields) wins, then the
    declared stage order.
    """
    for stage, alternative in _alternatives(ruleset, kind, crm):
        if all(values.get(name) is not None and str(values.get(name)) == expected
               for name, expected in alternative.items()):
            return stage
    return None


def stage_to_crm(ruleset: Ruleset, kind: str, crm: str, stage: str) -> dict[str, str]:
    """The CRM field values to write for a canonical stage (its first declared alternative)."""
    try:
        declared = ruleset.kind(kind).stage(stage).crm.get(crm, ())
    except KeyError:
        raise StageMappingError(f"kind {kind!r} has no stage {stage!r}") from None
    if not declared:
        raise StageMappingError(f"stage {stage!r} of {kind!r} declares no {crm} values in {ruleset.source}")
    return dict(declared[0])


def crm_stage_fields(ruleset: Ruleset, kind: str, crm: str) -> tuple[str, ...]:
    """Every CRM field that takes part in the stage mapping of ``kind`` (to read them all)."""
    names: dict[str, None] = {}
    for stage in ruleset.kind(kind).stages:
        for alternative in stage.crm.get(crm, ()):
            names.update(dict.fromkeys(alternative))
    return tuple(names)


def stage_rank(ruleset: Ruleset, kind: str, stage: str) -> int:
    """Position of a stage in the declared forward order (to tell backward moves, e.g. a recycle)."""
    return ruleset.kind(kind).stage(stage).rank
