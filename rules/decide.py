"""Turning "which rule matched" into a :class:`Decision` (see :mod:`rules.ir`, sections 4-6).

Shared by every engine: an engine finds the matched signals and the first matching stage rule;
:class:`DecisionBuilder` does the rest (fields to set, recycle counts, gate criteria, probability),
so those details can never differ between engines.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.conditions import holds
from rules.engine import Contribution, Decision, GroupScore, HeldCondition
from rules.ir import KindRules, StageRule, date_from_days


class DecisionBuilder:
    """Builds decisions for one kind of one ruleset."""

    def __init__(self, rules: KindRules, version: str) -> None:
        self.rules = rules
        self.version = version
        self.read_only = frozenset(s.name for s in rules.stages if s.read_only)
        self.probability: dict[str | None, float | None] = {s.name: s.probability for s in rules.stages}
        self.score_field = rules.scoring.field if rules.scoring else None
        self.advice_rules = tuple(r for r in rules.rules if r.action.kind == "gate_advice")

    def is_read_only(self, record: Mapping[str, Any]) -> bool:
        stage_field = self.rules.stage_field
        return stage_field is not None and record.get(stage_field) in self.read_only

    def skip(self, record_id: str, record: Mapping[str, Any]) -> Decision:
        stage = record.get(self.rules.stage_field) if self.rules.stage_field else None
        return Decision(record_id, "skip", stage, stage, None, self.version,
                        f"stage {stage} is read-only", None, (), (), self.probability.get(stage))

    def build(self, record_id: str, record: Mapping[str, Any], rule: StageRule | None,
              score: int | None, contributions: tuple[Contribution, ...],
              groups: tuple[GroupScore, ...], now_days: int,
              held: tuple[HeldCondition, ...] = ()) -> Decision:
        """The decision for a normalised record whose first matching rule is ``rule`` (or None).

        ``record`` needs the stage and recycle-count fields; for gate rules, every field the
        gate's criteria read. Written flat on purpose: it runs once per record.
        """
        rules = self.rules
        stage_field = rules.stage_field
        from_stage = record.get(stage_field) if stage_field is not None else None
        missing: tuple[str, ...] = ()
        if rule is None:
            kind, to_stage, reason = "none", from_stage, ""
        else:
            action = rule.action
            kind, reason = action.kind, action.reason
            to_stage = from_stage if action.to_stage is None else action.to_stage
            if action.gate_stage is not None:
                missing = self._missing_criteria(action.gate_stage, record)
                if missing:
                    reason = f"{reason}: missing {', '.join(missing)}"
        probability = self.probability.get(to_stage)
        fields: dict[str, Any] = {}
        if stage_field is not None and to_stage is not None:
            fields[stage_field] = to_stage
        if self.score_field is not None:
            fields[self.score_field] = score
        if rules.probability_field is not None and probability is not None:
            fields[rules.probability_field] = probability
        if rules.violation_field is not None:
            if kind == "gate_advice":
                fields[rules.violation_field] = reason
            else:   # a move lands in a stage an advise gate guards: record its advice now, not next sync
                fields[rules.violation_field] = (self._advice_at(to_stage, record)
                                                 if to_stage != from_stage else None)
        if to_stage != from_stage and rules.stage_changed_field is not None:
            fields[rules.stage_changed_field] = date_from_days(now_days)
        if kind == "recycle":
            self._recycle_fields(record, reason, fields)
        if rule is not None and rule.action.set_fields:
            fields.update(rule.action.set_fields)
        return Decision(record_id, kind, from_stage, to_stage, None if rule is None else rule.id,  # type: ignore[arg-type]
                        self.version, reason, score, contributions, groups, probability, fields,
                        missing, held)

    def _recycle_fields(self, record: Mapping[str, Any], reason: str, fields: dict[str, Any]) -> None:
        count_field = self.rules.recycle_count_field
        if count_field is not None:
            fields[count_field] = (record.get(count_field) or 0) + 1
        if self.rules.recycle_reason_field is not None:
            fields[self.rules.recycle_reason_field] = reason

    def _advice_at(self, stage: str | None, record: Mapping[str, Any]) -> str | None:
        """The advice of the first advise gate (by order) that guards ``stage`` and is not met."""
        for rule in self.advice_rules:
            gate_stage = rule.action.gate_stage
            if gate_stage is None or stage not in self.rules.gate(gate_stage).guards:
                continue
            missing = self._missing_criteria(gate_stage, record)
            if missing:
                return f"{rule.action.reason}: missing {', '.join(missing)}"
        return None

    def _missing_criteria(self, gate_stage: str, record: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(c.id for c in self.rules.gate(gate_stage).criteria if not holds(c.when, record))
