"""What the rules decide, computed independently of the pipeline: the generated-Python engine on
The Model, from the records as the CRM served them before the sync (the pipeline itself runs the
durable-rules engine, so agreement also checks the two engines against each other on live data)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.pipeline.translate import engine_inputs
from connectors.records import Record
from rules.engine import Decision
from rules.load import the_model
from rules.mapping import StageMappingError, crm_stage_fields, stage_to_crm
from rules.pyengine import PythonEngine

RULESET = the_model()
ENGINE = PythonEngine(RULESET)


def decide(kind: str, records: Sequence[Record]) -> dict[str, Decision]:
    today = dt.datetime.now(dt.UTC).date()
    decisions = ENGINE.evaluate(kind, engine_inputs(RULESET, kind, records), today)
    return {d.record_id: d for d in decisions}


def expected_stage_values(kind: str, crm: str, record: Record, decision: Decision) -> dict[str, str | None]:
    """The CRM stage fields the record must carry after a sync: the decided stage mapped to the CRM,
    or (no decided stage, or one the CRM has no value for) the values it had before."""
    stage_field = RULESET.kind(kind).stage_field
    decided = decision.set_fields.get(stage_field) if stage_field else None
    if decided is not None:
        try:
            mapped = stage_to_crm(RULESET, kind, crm, str(decided))
        except StageMappingError:
            mapped = None
        if mapped is not None:
            # Stage fields the mapping does not name keep their values (HubSpot awareness sets
            # lifecyclestage only).
            return {f: _text(record.raw.get(f)) for f in crm_stage_fields(RULESET, kind, crm)} | mapped
    return {f: _text(record.raw.get(f)) for f in crm_stage_fields(RULESET, kind, crm)}


def actual_stage_values(kind: str, crm: str, row: dict[str, Any]) -> dict[str, str | None]:
    return {f: _text(row.get(f)) for f in crm_stage_fields(RULESET, kind, crm)}


def changes_stage(kind: str, crm: str, record: Record, decision: Decision) -> bool:
    return expected_stage_values(kind, crm, record, decision) != {
        f: _text(record.raw.get(f)) for f in crm_stage_fields(RULESET, kind, crm)}


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
