"""An interpreter of IR conditions: the semantics of :mod:`rules.ir` (section 2) in plain code.

Slow but obvious. Used for explanations (which leaves held, with which values), for gate criteria
and to cross-check the generated evaluator in tests.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.ir import All, AnyOf, Condition, Exists, InSet, Leaf, Not, to_nnf

_COMPARE = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


def holds(cond: Condition, record: Mapping[str, Any]) -> bool:
    """Whether ``cond`` holds for a normalised record."""
    if isinstance(cond, All):
        return all(holds(item, record) for item in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(item, record) for item in cond.items)
    if isinstance(cond, Not):
        return not holds(cond.item, record)
    return leaf_holds(cond, record)


def leaf_holds(leaf: Leaf, record: Mapping[str, Any]) -> bool:
    value = record.get(leaf.field)
    if isinstance(leaf, Exists):
        return (value is None) if leaf.negate else (value is not None)
    if isinstance(leaf, InSet):
        if value is None:
            return leaf.negate
        return (value not in leaf.values) if leaf.negate else (value in leaf.values)
    if value is None:
        return leaf.op == "ne"
    return bool(_COMPARE[leaf.op](value, leaf.value))


def held_leaves(cond: Condition, record: Mapping[str, Any]) -> list[Leaf]:
    """The leaves that made ``cond`` hold (for ``any``: the first branch that held)."""
    if isinstance(cond, All):
        return [leaf for item in cond.items for leaf in held_leaves(item, record)]
    if isinstance(cond, AnyOf):
        for item in cond.items:
            if holds(item, record):
                return held_leaves(item, record)
        return []
    if isinstance(cond, Not):
        return held_leaves(to_nnf(cond), record)      # the negated leaves, labelled "not (...)"
    return [cond] if leaf_holds(cond, record) else []


def describe(leaf: Leaf) -> str:
    """A readable form of a leaf, used when it carries no source label."""
    if leaf.label:
        return leaf.label
    if isinstance(leaf, Exists):
        return f"{leaf.field} {'is missing' if leaf.negate else 'exists'}"
    if isinstance(leaf, InSet):
        return f"{leaf.field} {'not in' if leaf.negate else 'in'} {list(leaf.values)!r}"
    symbol = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[leaf.op]
    return f"{leaf.field} {symbol} {leaf.value!r}"
