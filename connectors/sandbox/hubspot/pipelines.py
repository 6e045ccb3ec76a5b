"""Deal pipelines and stages (``/crm/v3/pipelines/deals``), following the domain contract.

Stage ids and probabilities are the contract's (``appointmentscheduled`` 0.0 ... ``closedwon`` 1.0);
``dealstage`` values are validated against these, and ``hs_is_closed``, ``hs_is_closed_won`` and
``hs_deal_stage_probability`` are derived from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EPOCH_ISO = "1970-01-01T00:00:00Z"   # default pipelines report createdAt 0 in the real API


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    probability: str      # a string between "0.0" and "1.0", as in the stage metadata
    is_closed: bool
    is_won: bool


DEFAULT_PIPELINE_ID = "default"
DEFAULT_PIPELINE_LABEL = "Sales Pipeline"
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("appointmentscheduled", "Appointment Scheduled", "0.0", False, False),
    Stage("qualifiedtobuy", "Qualified To Buy", "0.25", False, False),
    Stage("presentationscheduled", "Presentation Scheduled", "0.3", False, False),
    Stage("decisionmakerboughtin", "Decision Maker Bought-In", "0.5", False, False),
    Stage("contractsent", "Contract Sent", "0.75", False, False),
    Stage("closedwon", "Closed Won", "1.0", True, True),
    Stage("closedlost", "Closed Lost", "0.0", True, False),
)
PIPELINES: dict[str, tuple[Stage, ...]] = {DEFAULT_PIPELINE_ID: DEFAULT_STAGES}


def find_stage(pipeline_id: str, stage_id: str) -> Stage | None:
    return next((s for s in PIPELINES.get(pipeline_id, ()) if s.id == stage_id), None)


def stage_json(stage: Stage, order: int) -> dict[str, Any]:
    return {"id": stage.id, "label": stage.label, "displayOrder": order, "archived": False,
            "metadata": {"isClosed": "true" if stage.is_closed else "false", "probability": stage.probability},
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", "createdAt": EPOCH_ISO, "updatedAt": EPOCH_ISO}


def pipeline_json(pipeline_id: str) -> dict[str, Any]:
    stages = PIPELINES[pipeline_id]
    return {"id": pipeline_id, "label": DEFAULT_PIPELINE_LABEL, "displayOrder": 0, "archived": False,
            "createdAt": EPOCH_ISO, "updatedAt": EPOCH_ISO,
            "stages": [stage_json(s, i) for i, s in enumerate(stages)]}


def derived_deal_properties(pipeline_id: str | None, stage_id: str | None) -> dict[str, str | None]:
    """The read-only properties HubSpot computes from a deal's stage."""
    stage = find_stage(pipeline_id or DEFAULT_PIPELINE_ID, stage_id or "")
    if stage is None:
        return {"hs_is_closed": None, "hs_is_closed_won": None, "hs_deal_stage_probability": None}
    return {"hs_is_closed": "true" if stage.is_closed else "false",
            "hs_is_closed_won": "true" if stage.is_won else "false",
            "hs_deal_stage_probability": stage.probability}
