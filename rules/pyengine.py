"""The plain-Python engine: generated code for the batch path, an interpreter for explanations.

``evaluate`` runs the function generated from the IR by :mod:`rules.codegen` (fast, no
explanations). ``explain`` interprets the same IR with :mod:`rules.conditions` and reports which
conditions held with which values; both paths must agree, and tests check that they do. This
module never imports durable-rules.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from rules.codegen import compile_kind
from rules.conditions import held_leaves, holds
from rules.decide import DecisionBuilder
from rules.engine import Contribution, Decision, Engine, GroupScore, HeldCondition, record_id_of
from rules.ir import KindRules, Leaf, Ruleset, date_from_days, days_since_epoch
from rules.normalise import Normaliser, normaliser
from rules.scoring import compute_score


class _Kind:
    """Everything compiled for one kind: the generated batch function and its helpers."""

    def __init__(self, rules: KindRules, version: str) -> None:
        self.rules = rules
        self.normalise: Normaliser = normaliser(rules)
        self.builder = DecisionBuilder(rules, version)
        self._signals = tuple(Contribution(s.id, s.group, s.points)
                              for s in (rules.scoring.signals if rules.scoring else ()))
        self._group_names = tuple(g.name for g in rules.scoring.groups) if rules.scoring else ()
        self._contributions_cache: dict[int, tuple[Contribution, ...]] = {}
        self._groups_cache: dict[tuple[Any, ...], tuple[GroupScore, ...]] = {}
        self.evaluate_batch: Callable[[Sequence[Mapping[str, Any]], int, date], list[Decision]] = compile_kind(
            rules, {"_Decision": Decision, "_version": version, "_record_id": record_id_of,
                    "_skip": self._skip, "_contributions": self._contributions,
                    "_contributions_cache": self._contributions_cache, "_groups": self._groups,
                    "_groups_cache": self._groups_cache})

    def _skip(self, record_id: str, stage: str) -> Decision:
        return self.builder.skip(record_id, {self.rules.stage_field or "": stage})

    def _contributions(self, mask: int) -> tuple[Contribution, ...]:
        """The contributions of the signals whose bits are set (bit i: i-th signal declared)."""
        found = tuple(c for bit, c in enumerate(self._signals) if mask >> bit & 1)
        self._contributions_cache[mask] = found
        return found

    def _groups(self, flat: tuple[Any, ...]) -> tuple[GroupScore, ...]:
        """GroupScores from (raw, capped, decayed) triples laid end to end."""
        found = tuple(GroupScore(name, *flat[3 * i:3 * i + 3]) for i, name in enumerate(self._group_names))
        if len(self._groups_cache) > _CACHE_LIMIT:       # half-life decay makes float subtotals
            self._groups_cache.clear()
        self._groups_cache[flat] = found
        return found


_CACHE_LIMIT = 50_000


class PythonEngine(Engine):
    """The reference engine: the rules compiled to Python functions."""

    name = "python"

    def __init__(self, ruleset: Ruleset) -> None:
        super().__init__(ruleset)
        self._kinds = {name: _Kind(rules, ruleset.version) for name, rules in ruleset.kinds.items()}

    def _kind(self, kind: str) -> _Kind:
        try:
            return self._kinds[kind]
        except KeyError:
            raise KeyError(f"ruleset {self.ruleset.name!r} has no rules for kind {kind!r}") from None

    def evaluate(self, kind: str, records: Sequence[Mapping[str, Any]], now: date) -> list[Decision]:
        return self._kind(kind).evaluate_batch(records, days_since_epoch(now), now)

    def explain(self, kind: str, record: Mapping[str, Any], now: date) -> Decision:
        """One record's decision with the conditions that held (interpreted, slower)."""
        compiled = self._kind(kind)
        rules, builder = compiled.rules, compiled.builder
        now_days = days_since_epoch(now)
        record_id = record_id_of(record.get("id"))
        state = compiled.normalise(record, now_days)
        if builder.is_read_only(state):
            return builder.skip(record_id, state)
        score: int | None = None
        contributions: tuple[Contribution, ...] = ()
        groups: tuple[GroupScore, ...] = ()
        if rules.scoring is not None:
            matched = {s.id for s in rules.scoring.signals if holds(s.when, state)}
            score, contributions, groups = compute_score(rules.scoring, matched, state, now_days)
            state[rules.scoring.field] = score
        rule = next((r for r in rules.rules if holds(r.when, state)), None)
        held = tuple(_held(leaf, state, rules) for leaf in held_leaves(rule.when, state)) if rule else ()
        return builder.build(record_id, state, rule, score, contributions, groups, now_days, held)


def _held(leaf: Leaf, state: Mapping[str, Any], rules: KindRules) -> HeldCondition:
    from rules.conditions import describe
    value = state.get(leaf.field)
    return HeldCondition(describe(leaf), leaf.field, value, _display(leaf.field, value, rules))


def _display(field: str, value: Any, rules: KindRules) -> str:
    spec = rules.fields.get(field)
    if value is None:
        return "(missing)"
    if spec is not None and spec.type in ("date", "datetime") and isinstance(value, int):
        return date_from_days(value).isoformat()
    if field.endswith("__age"):
        return f"{value} days"
    return repr(value) if isinstance(value, str) else str(value)
