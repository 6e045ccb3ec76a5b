"""Checks of meaning on a compiled kind: transitions, reachability, priority conflicts."""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

from rules.ir import All, Compare, Condition, Exists, InSet, KindRules, Leaf, StageRule
from rules.schema import Reader


def check_kind(reader: Reader, rules: KindRules) -> None:
    """Meaning checks of a kind that parsed cleanly; problems go to ``reader``."""
    _check_stage_targets(reader, rules)
    _check_reachable(reader, rules)
    _check_priorities(reader, rules)


def _check_stage_targets(reader: Reader, rules: KindRules) -> None:
    read_only = {s.name for s in rules.stages if s.read_only}
    for rule in rules.rules:
        if rule.action.kind.startswith("gate_"):
            continue
        target = rule.action.to_stage
        for source in rule.from_stages:
            if source in read_only:
                reader.error(rule.loc, f"rule {rule.id!r} starts from the read-only stage {source!r}",
                             "Baton never changes records in read-only stages; remove it from `from:`")
            elif target is not None and target != source and (source, target) not in rules.transitions:
                reader.error(rule.loc, f"rule {rule.id!r} moves {source} -> {target}, which `transitions:` "
                                       "does not allow", f"add {target} under transitions.{source}, or fix `to:`")
        if target in read_only:
            reader.error(rule.loc, f"rule {rule.id!r} moves records into the read-only stage {target!r}", "")
    for gate in rules.gates:
        if gate.mode == "auto" and gate.advance_to is not None and \
                (gate.stage, gate.advance_to) not in rules.transitions:
            reader.error(gate.loc, f"the auto gate moves {gate.stage} -> {gate.advance_to}, which "
                                   "`transitions:` does not allow", f"add it under transitions.{gate.stage}")


def _check_reachable(reader: Reader, rules: KindRules) -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for source, target in rules.transitions:
        edges[source].add(target)
    seen = {s.name for s in rules.stages if s.entry}
    frontier = list(seen)
    while frontier:
        for target in edges[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    for stage in rules.stages:
        if stage.name not in seen:
            reader.error(stage.loc, f"stage {stage.name!r} is unreachable: no transition leads to it",
                         "add a transition into it, or mark it `entry: true` if records can start there")


def _check_priorities(reader: Reader, rules: KindRules) -> None:
    by_priority: dict[int, list[StageRule]] = defaultdict(list)
    for rule in rules.rules:
        by_priority[rule.priority].append(rule)
    for same in by_priority.values():
        for first, second in itertools.combinations(same, 2):
            if _outcome(first) != _outcome(second) and may_overlap(first.when, second.when):
                later, earlier = sorted((first, second), key=lambda r: (r.loc.line, r.loc.column), reverse=True)
                reader.error(later.loc, f"rules {earlier.id!r} (line {earlier.loc.line}) and {later.id!r} have "
                                        f"the same priority {later.priority}, can match the same record and "
                                        "decide differently", "give one of them a different priority")


def _outcome(rule: StageRule) -> tuple[Any, ...]:
    action = rule.action
    return action.kind, action.to_stage, action.reason, action.set_fields, action.gate_stage


# ---------------------------------------------------------------- overlap analysis
def _conjuncts(cond: Condition) -> list[Leaf]:
    """The leaves that must all hold for ``cond`` (top-level AND only; others are ignored)."""
    if isinstance(cond, All):
        return [leaf for item in cond.items for leaf in _conjuncts(item)]
    if isinstance(cond, (Compare, InSet, Exists)):
        return [cond]
    return []


def may_overlap(first: Condition, second: Condition) -> bool:
    """False only when the two conditions provably cannot both hold for one record.

    Conservative: it looks at the top-level conjuncts (e.g. the from-stage tests, equalities,
    numeric ranges, exists/missing) and reports overlap when it cannot prove otherwise.
    """
    by_field: dict[str, list[Leaf]] = defaultdict(list)
    for leaf in _conjuncts(first) + _conjuncts(second):
        by_field[leaf.field].append(leaf)
    return all(_satisfiable(leaves) for leaves in by_field.values())


def _satisfiable(leaves: list[Leaf]) -> bool:
    must_miss = any(isinstance(l, Exists) and l.negate for l in leaves)
    needs_value = any(not _holds_on_missing(l) for l in leaves)
    if must_miss:
        return not needs_value
    allowed: set[Any] | None = None
    excluded: set[Any] = set()
    low, high = -math.inf, math.inf
    low_open = high_open = False
    for leaf in leaves:
        if isinstance(leaf, InSet):
            if leaf.negate:
                excluded.update(leaf.values)
            else:
                allowed = set(leaf.values) if allowed is None else allowed & set(leaf.values)
        elif isinstance(leaf, Compare):
            value: Any = leaf.value
            if leaf.op == "eq":
                allowed = {leaf.value} if allowed is None else allowed & {leaf.value}
            elif leaf.op == "ne":
                excluded.add(leaf.value)
            elif leaf.op in ("gt", "ge") and (value > low or (value == low and leaf.op == "gt")):
                low, low_open = value, leaf.op == "gt"
            elif leaf.op in ("lt", "le") and (value < high or (value == high and leaf.op == "lt")):
                high, high_open = value, leaf.op == "lt"
    if allowed is not None:
        return any(v not in excluded and _in_range(v, low, low_open, high, high_open) for v in allowed)
    return low < high or (low == high and not low_open and not high_open)


def _holds_on_missing(leaf: Leaf) -> bool:
    if isinstance(leaf, Exists):
        return leaf.negate
    if isinstance(leaf, InSet):
        return leaf.negate
    return leaf.op == "ne"


def _in_range(value: Any, low: float, low_open: bool, high: float, high_open: bool) -> bool:
    if isinstance(value, (bool, str)) and (low != -math.inf or high != math.inf):
        return False
    if low != -math.inf and (value < low or (low_open and value == low)):
        return False
    return not (high != math.inf and (value > high or (high_open and value == high)))
