"""Score arithmetic shared by every engine (see :mod:`rules.ir`, section 3).

Engines only find which signals matched; this turns the matches into the score, so the caps,
decay and rounding can never differ between engines.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from rules.engine import Contribution, GroupScore
from rules.ir import Decay, Group, Scoring


def decayed(value: float, decay: Decay | None, record: Mapping[str, Any], now_days: int) -> float:
    """A group's capped subtotal after decay by days since ``decay.since_field``."""
    if decay is None or value <= 0:
        return value
    since = record.get(decay.since_field)
    if since is None:
        return value
    overdue = now_days - since - decay.grace_days
    if overdue <= 0:
        return value
    if decay.mode == "linear":
        return max(0, value - decay.points_per_period * (overdue // decay.period_days))
    return value * 0.5 ** (overdue / decay.half_life_days)


def group_score(group: Group, matched: Collection[str], record: Mapping[str, Any],
                now_days: int) -> tuple[GroupScore, list[Contribution]]:
    contributions = [Contribution(s.id, group.name, s.points) for s in group.signals if s.id in matched]
    raw = sum(c.points for c in contributions)
    capped = raw if group.cap is None else min(raw, group.cap)
    return GroupScore(group.name, raw, capped, decayed(capped, group.decay, record, now_days)), contributions


def final_score(total: float, scoring: Scoring) -> int:
    """Clamp to [minimum, maximum], then round half up."""
    total = max(total, scoring.minimum)
    if scoring.maximum is not None:
        total = min(total, scoring.maximum)
    return math.floor(total + 0.5)


def compute_score(scoring: Scoring, matched: Collection[str], record: Mapping[str, Any],
                  now_days: int) -> tuple[int, tuple[Contribution, ...], tuple[GroupScore, ...]]:
    """(score, contributions in declared signal order, group subtotals) from matched signal ids."""
    groups: list[GroupScore] = []
    contributions: list[Contribution] = []
    for group in scoring.groups:
        subtotal, parts = group_score(group, matched, record, now_days)
        groups.append(subtotal)
        contributions.extend(parts)
    return final_score(sum(g.decayed for g in groups), scoring), tuple(contributions), tuple(groups)
