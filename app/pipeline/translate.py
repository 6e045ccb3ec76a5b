"""Between connector records and engine inputs.

The engine sees canonical fields plus ``id``, with the stage as a canonical stage name; the
CRM's stage values (Salesforce ``Status``, HubSpot ``lifecyclestage`` + ``hs_lead_status``) are
translated through the stage mapping the rules file declares.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.records import Record
from rules.ir import Ruleset
from rules.mapping import crm_stage_fields, stage_from_crm


def engine_input(ruleset: Ruleset, kind: str, record: Record) -> dict[str, Any]:
    """One record as the engine takes it."""
    rules = ruleset.kind(kind)
    values: dict[str, Any] = dict(record.fields)
    if rules.stage_field:
        values[rules.stage_field] = stage_from_crm(ruleset, kind, record.crm.value, record.raw)
    values["id"] = record.id
    return values


def engine_inputs(ruleset: Ruleset, kind: str, records: Iterable[Record]) -> list[dict[str, Any]]:
    return [engine_input(ruleset, kind, record) for record in records]


def stage_fields_to_read(ruleset: Ruleset, kind: str, crm: str) -> tuple[str, ...]:
    """The CRM fields a connector must read so the stage can be translated."""
    try:
        return crm_stage_fields(ruleset, kind, crm)
    except KeyError:
        return ()
