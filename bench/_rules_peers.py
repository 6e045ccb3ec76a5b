"""The same rules on the peers: zen-engine and rule-engine, translated from Baton's IR by program.

Each condition of the IR (after :func:`rules.ir.to_nnf`) becomes an expression of the peer's
language with the IR's missing-value semantics spelled out (ordering tests are guarded with
``!= null``; ``ne``/``not_in`` hold on a missing field). Per record a peer evaluates two list
expressions: the scoring signals, then the stage rules (with the computed score). Which conditions
held comes from the peer; score arithmetic, first-hit and decisions use Baton's shared helpers, so
all engines produce comparable :class:`rules.engine.Decision` objects.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, cast

from rules.decide import DecisionBuilder
from rules.engine import Contribution, Decision, GroupScore, record_id_of
from rules.ir import (
    All,
    AnyOf,
    Compare,
    Condition,
    Exists,
    InSet,
    KindRules,
    Ruleset,
    days_since_epoch,
    to_nnf,
)
from rules.normalise import normaliser
from rules.scoring import compute_score

_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def expression(cond: Condition) -> str:
    """One IR condition in the common subset of the ZEN and rule-engine expression languages."""
    return _expr(to_nnf(cond))


def _expr(cond: Condition) -> str:
    if isinstance(cond, All):
        return "(" + " and ".join(_expr(c) for c in cond.items) + ")"
    if isinstance(cond, AnyOf):
        return "(" + " or ".join(_expr(c) for c in cond.items) + ")"
    if isinstance(cond, Exists):
        return f"({cond.field} {'==' if cond.negate else '!='} null)"
    if isinstance(cond, InSet):
        values = "[" + ", ".join(literal(v) for v in cond.values) + "]"
        test = f"({cond.field} in {values})"
        return f"(not {test})" if cond.negate else test
    if isinstance(cond, Compare):
        test = f"{cond.field} {_SYMBOLS[cond.op]} {literal(cond.value)}"
        return f"({test})" if cond.op in ("eq", "ne") else f"({cond.field} != null and {test})"
    raise TypeError(cond)


ListEvaluator = Callable[[Mapping[str, Any]], Sequence[bool]]


def zen_list(expressions: list[str]) -> ListEvaluator:
    import zen
    compiled = zen.compile_expression("[" + ", ".join(expressions) + "]")
    return cast(ListEvaluator, compiled.evaluate)


def rule_engine_list(expressions: list[str]) -> ListEvaluator:
    import rule_engine
    rule = rule_engine.Rule("[" + ", ".join(expressions) + "]", context=rule_engine.Context(default_value=None))
    return rule.evaluate


class _PeerKind:
    def __init__(self, rules: KindRules, version: str, make: Callable[[list[str]], ListEvaluator]) -> None:
        self.rules = rules
        self.normalise = normaliser(rules)
        self.builder = DecisionBuilder(rules, version)
        signals = rules.scoring.signals if rules.scoring else ()
        self.signal_ids = [s.id for s in signals]
        self.signals = make([expression(s.when) for s in signals]) if signals else None
        self.stage_rules = make([expression(r.when) for r in rules.rules]) if rules.rules else None


class PeerEngine:
    """zen-engine or rule-engine deciding The Model's rules, one record at a time."""

    def __init__(self, ruleset: Ruleset, make: Callable[[list[str]], ListEvaluator]) -> None:
        self.kinds = {kind: _PeerKind(rules, ruleset.version, make) for kind, rules in ruleset.kinds.items()}

    def evaluate(self, kind: str, records: Sequence[Mapping[str, Any]], now: date) -> list[Decision]:
        compiled = self.kinds[kind]
        rules, builder, now_days = compiled.rules, compiled.builder, days_since_epoch(now)
        out: list[Decision] = []
        for record in records:
            record_id = record_id_of(record.get("id"))
            state = compiled.normalise(record, now_days)
            if builder.is_read_only(state):
                out.append(builder.skip(record_id, state))
                continue
            score: int | None = None
            contributions: tuple[Contribution, ...] = ()
            groups: tuple[GroupScore, ...] = ()
            if rules.scoring is not None:
                held = compiled.signals(state) if compiled.signals else ()
                matched = {sid for sid, ok in zip(compiled.signal_ids, held) if ok}
                score, contributions, groups = compute_score(rules.scoring, matched, state, now_days)
                state[rules.scoring.field] = score
            flags = compiled.stage_rules(state) if compiled.stage_rules else ()
            rule = next((r for r, ok in zip(rules.rules, flags) if ok), None)
            out.append(builder.build(record_id, state, rule, score, contributions, groups, now_days))
        return out
