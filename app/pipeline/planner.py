"""Turn an engine decision about one record into the CRM writes it needs: pure, no I/O.

Planning writes only values that differ from the CRM's current values, and protects manual
changes: when a field's current value differs from the value Baton last wrote there, a person
changed it after Baton, so Baton holds off that field for the hold period and records the decision
as held back, with the reason. The stage is one unit (HubSpot's stage is two properties,
``lifecyclestage`` and ``hs_lead_status``); when it is held, the fields that follow the stage
(probability, stage-changed date, recycle count and reason, gate advice) are held with it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.records import Record
from rules.engine import Decision
from rules.ir import KindRules, Ruleset
from rules.mapping import StageMappingError, stage_to_crm

from app.pipeline.values import jsonable, same_value

#: Canonical fields whose desired value only makes sense together with the decided stage.
STAGE_FOLLOWERS = ("probability", "stage_changed_date", "recycle_count", "recycle_reason", "gate_violation")


@dataclass(frozen=True)
class Hold:
    """A running or new hold on one CRM field (what the planner needs of the store's Hold)."""

    field: str
    observed_value: Any
    held_until: dt.datetime
    reason: str


@dataclass(frozen=True)
class PlanInput:
    """Everything the planner needs about one record."""

    record: Record
    decision: Decision
    last_written: Mapping[str, Any] = field(default_factory=dict)   # CRM field -> value Baton wrote
    active_holds: Mapping[str, Hold] = field(default_factory=dict)  # CRM field -> running hold


@dataclass(frozen=True)
class WritePlan:
    """What to do about one record: CRM field changes to send, and fields held back."""

    record_id: str
    changes: dict[str, Any]                       # CRM field -> new value, only those that differ
    canonical_changes: dict[str, dict[str, Any]]  # canonical field -> {"from", "to"} (audit log)
    held_fields: tuple[str, ...] = ()             # CRM fields not written because a person owns them
    new_holds: tuple[Hold, ...] = ()
    hold_reason: str | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def held_back(self) -> bool:
        return bool(self.held_fields)


@dataclass(frozen=True)
class Planner:
    """Plans the writes for one (ruleset, kind, CRM object) with its field mapping."""

    ruleset: Ruleset
    kind: str
    crm: str
    field_map: Mapping[str, str]          # canonical field -> CRM field (the connector's mapping)
    writable: frozenset[str] | None = None  # CRM fields Baton may write (None: every mapped field)
    hold_period: dt.timedelta = dt.timedelta(days=7)

    @property
    def rules(self) -> KindRules:
        return self.ruleset.kind(self.kind)

    def desired(self, decision: Decision) -> tuple[dict[str, Any], dict[str, str]]:
        """(CRM field -> desired value, CRM field -> canonical field) for a decision's fields."""
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        stage_field = self.rules.stage_field
        for name, value in decision.set_fields.items():
            if name == stage_field:
                if value is None:
                    continue
                try:
                    crm_values = stage_to_crm(self.ruleset, self.kind, self.crm, str(value))
                except StageMappingError:
                    continue          # a stage this CRM has no value for is not written
                for crm_field, crm_value in crm_values.items():
                    values[crm_field], origin[crm_field] = crm_value, name
                continue
            crm_field = self.field_map.get(name)
            if crm_field is None or (self.writable is not None and crm_field not in self.writable):
                continue
            values[crm_field], origin[crm_field] = value, name
        return values, origin

    def plan(self, item: PlanInput, now: dt.datetime) -> WritePlan:
        record, decision = item.record, item.decision
        desired, origin = self.desired(decision)
        differing = {f: v for f, v in desired.items() if not same_value(record.raw.get(f), v)}
        stage_fields = {f for f, name in origin.items() if name == self.rules.stage_field}
        held, new_holds, reason = self._holds(item, differing, stage_fields, now)
        if held & stage_fields:
            held |= {f for f, name in origin.items() if name in STAGE_FOLLOWERS} & differing.keys()
        changes = {f: v for f, v in differing.items() if f not in held}
        canonical = {origin[f]: ({"from": decision.from_stage, "to": decision.to_stage} if f in stage_fields
                                 else {"from": jsonable(record.fields.get(origin[f], record.raw.get(f))),
                                       "to": jsonable(v)})
                     for f, v in changes.items()}
        return WritePlan(record.id, changes, canonical, tuple(sorted(held)), tuple(new_holds), reason)

    def _holds(self, item: PlanInput, differing: Mapping[str, Any], stage_fields: set[str],
               now: dt.datetime) -> tuple[set[str], list[Hold], str | None]:
        """The differing fields a person owns: held already, or changed by hand since Baton wrote."""
        held: set[str] = set()
        new: list[Hold] = []
        reasons: list[str] = []
        for crm_field in differing:
            running = item.active_holds.get(crm_field)
            if running is not None and running.held_until > now:
                held.add(crm_field)
                reasons.append(running.reason)
                continue
            if crm_field not in item.last_written:
                continue
            current = item.record.raw.get(crm_field)
            if not same_value(current, item.last_written[crm_field]):
                reason = (f"{crm_field} was changed by hand to {current!r} after Baton wrote "
                          f"{item.last_written[crm_field]!r}; held until {(now + self.hold_period):%Y-%m-%d %H:%M} UTC")
                held.add(crm_field)
                new.append(Hold(crm_field, jsonable(current), now + self.hold_period, reason))
                reasons.append(reason)
        if held & stage_fields:
            held |= stage_fields & differing.keys()      # the stage is one unit
        return held, new, (reasons[0] if reasons else None)
