"""The one small interface every rules engine implements, and what it returns.

Two engines implement :class:`Engine`: the generated plain-Python evaluator
(:class:`rules.pyengine.PythonEngine`, the reference and the source of explanations) and the
durable-rules engine (:mod:`rules.durable_engine`). Both take a compiled :class:`rules.ir.Ruleset`
and decide identically; :meth:`Decision.outcome` is what a parity check compares.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from rules.ir import Ruleset

DecisionKind = Literal["none", "skip", "transition", "recycle", "gate_revert", "gate_advice", "gate_advance"]


@dataclass(frozen=True, slots=True)
class Contribution:
    """Points one matched signal added (before its group's cap and decay)."""

    signal: str
    group: str
    points: int


@dataclass(frozen=True, slots=True)
class GroupScore:
    """One scoring group's subtotal at each step of the arithmetic."""

    group: str
    raw: int
    capped: int
    decayed: float


@dataclass(frozen=True, slots=True)
class HeldCondition:
    """A leaf condition of the deciding rule that held, with the value that made it hold."""

    label: str            # readable form, e.g. "score >= 100"
    field: str
    value: Any            # the normalised value (dates as days since epoch)
    display: str          # the value as a person reads it (dates as ISO)


@dataclass(slots=True)
class Decision:
    """The outcome of evaluating one record: exactly one per record per evaluation.

    Treat it as immutable. (It is not a frozen dataclass only because frozen initialisation costs
    about a microsecond per record, which the batch path cannot afford.)

    ``set_fields`` holds the desired values of the Baton-owned canonical fields (stage, score,
    probability, gate violation, and on a stage change the stage-changed date, on a recycle the
    recycle count and reason); the pipeline writes only those that differ from the CRM's values.
    ``held`` is filled by ``explain`` (empty from the batched fast path).
    """

    record_id: str
    kind: DecisionKind
    from_stage: str | None
    to_stage: str | None
    rule_id: str | None
    ruleset_version: str
    reason: str
    score: int | None
    contributions: tuple[Contribution, ...]
    groups: tuple[GroupScore, ...]
    probability: float | None
    set_fields: dict[str, Any] = field(default_factory=dict)
    missing_criteria: tuple[str, ...] = ()
    held: tuple[HeldCondition, ...] = ()

    @property
    def changed_stage(self) -> bool:
        return self.to_stage is not None and self.to_stage != self.from_stage

    def outcome(self) -> tuple[Any, ...]:
        """Everything an engine decides (explanations excluded): what parity checks compare."""
        return (self.record_id, self.kind, self.from_stage, self.to_stage, self.rule_id,
                self.ruleset_version, self.reason, self.score, self.contributions, self.probability,
                tuple(sorted(self.set_fields.items())), self.missing_criteria)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        return {
            "record_id": self.record_id, "kind": self.kind, "from_stage": self.from_stage,
            "to_stage": self.to_stage, "rule_id": self.rule_id, "ruleset_version": self.ruleset_version,
            "reason": self.reason, "score": self.score,
            "contributions": [{"signal": c.signal, "group": c.group, "points": c.points}
                              for c in self.contributions],
            "groups": [{"group": g.group, "raw": g.raw, "capped": g.capped, "decayed": g.decayed}
                       for g in self.groups],
            "probability": self.probability,
            "set_fields": {name: _jsonable(value) for name, value in self.set_fields.items()},
            "missing_criteria": list(self.missing_criteria),
            "held": [{"condition": h.label, "field": h.field, "value": h.display} for h in self.held],
        }


def record_id_of(value: Any) -> str:
    """A record's id as text ("" when it has none): every engine uses this."""
    if value.__class__ is str:
        return value
    return "" if value is None else str(value)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class Engine(abc.ABC):
    """Decides stage, score and fields for batches of records of one kind.

    Implementations are stateless per call and deterministic: ``now`` is the evaluation date,
    never the wall clock. Records are mappings of canonical field names to raw values plus
    ``"id"``; the engine normalises them (:func:`rules.normalise.normaliser`). They are safe to
    use in forked RQ workers when created after the fork, from one thread.
    """

    name: str = "engine"

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset

    @abc.abstractmethod
    def evaluate(self, kind: str, records: Sequence[Mapping[str, Any]], now: date) -> list[Decision]:
        """One decision per record, in input order."""

    def close(self) -> None:
        """Release engine resources (sessions, hosts). The default has none."""
