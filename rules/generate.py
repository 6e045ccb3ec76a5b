"""Seeded generator of realistic, messy input records for a kind (tests, parity checks, benches).

Values are drawn around the literals the rules compare against (so every rule and edge fires:
exactly-at-threshold, one below, one above), and deliberately include what CRMs really send:
missing keys, ``None``, numbers as strings, garbage strings where numbers belong, booleans as
``"true"``/``"false"``, dates as ``date``, ``datetime``, ISO strings and unpadded strings.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rules.ir import AgeField, KindRules, Ruleset, TextMatchField, leaves

_WORDS = ("VP Sales", "Director of IT", "Head of Marketing", "Chief Revenue Officer", "Engineer",
          "Intern", "Manager", "Software", "Manufacturing", "Retail", "Finance", "Japan", "US",
          "timing", "no_budget", "competitor", "bad_fit", "")
_GARBAGE = ("abc", "n/a", "", "  ", "1,000", "12abc", "NaN", "-", "true")


def _literals(rules: KindRules) -> dict[str, set[Any]]:
    """Field -> literals the rules compare it with (derived age fields mapped to their source)."""
    found: dict[str, set[Any]] = defaultdict(set)
    conditions = [r.when for r in rules.rules] + [c.when for g in rules.gates for c in g.criteria]
    if rules.scoring is not None:
        conditions += [s.when for s in rules.scoring.signals]
    for cond in conditions:
        for leaf in leaves(cond):
            values = getattr(leaf, "values", None) or ((leaf.value,) if hasattr(leaf, "value") else ())
            found[leaf.field].update(values)
    return found


class RecordGenerator:
    """Generates records of one kind; the same seed always gives the same records."""

    def __init__(self, rules: KindRules, seed: int, now: date, messy: bool = True) -> None:
        self.rules = rules
        self.messy = messy
        self.rng = random.Random(seed)
        self.now = now
        self.literals = _literals(rules)
        self.ages: dict[str, set[int]] = defaultdict(set)
        self.needles: dict[str, set[str]] = defaultdict(set)
        for derived in rules.derived:
            if isinstance(derived, AgeField):
                self.ages[derived.source].update(int(v) for v in self.literals.get(derived.name, ())
                                                 if isinstance(v, (int, float)) and not isinstance(v, bool))
            elif isinstance(derived, TextMatchField):
                self.needles[derived.source].update(derived.needles)

    def record(self, index: int) -> dict[str, Any]:
        record: dict[str, Any] = {"id": f"{self.rules.kind}-{index:07d}"}
        for name, spec in self.rules.fields.items():
            roll = self.rng.random()
            if roll < 0.05:
                continue                      # key absent
            if roll < 0.09:
                record[name] = None
            elif roll < 0.11 and self.messy:
                record[name] = self.rng.choice(_GARBAGE)
            elif name == self.rules.stage_field:
                record[name] = self._stage()
            elif spec.type == "string" and roll < 0.45:
                record[name] = None           # text fields (reasons, titles) are often empty
            else:
                record[name] = getattr(self, "_" + spec.type)(name, spec.values)
        return record

    def records(self, count: int) -> list[dict[str, Any]]:
        return [self.record(i) for i in range(count)]

    def _stage(self) -> str:
        if self.rng.random() < 0.02:
            return "no_such_stage"
        return self.rng.choice(self.rules.stage_names)

    def _number(self, name: str, _values: Any) -> Any:
        near = [v for v in self.literals.get(name, ()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if near and self.rng.random() < 0.6:
            value: Any = self.rng.choice(near) + self.rng.choice((-1, 0, 0, 1))
        else:
            value = self.rng.choice((self.rng.randint(0, 20), self.rng.randint(0, 5000), round(self.rng.uniform(0, 100), 2)))
        roll = self.rng.random() if self.messy else 1.0
        if roll < 0.1:
            return str(value)                 # HubSpot sends every property as a string
        if roll < 0.13:
            return float(value)
        return value

    def _bool(self, _name: str, _values: Any) -> Any:
        value = self.rng.random() < 0.45
        roll = self.rng.random() if self.messy else 1.0
        if roll < 0.15:
            return "true" if value else "false"
        if roll < 0.18:
            return int(value)
        return value

    def _string(self, name: str, values: Any) -> Any:
        pool = list(values or ()) + [v for v in self.literals.get(name, ()) if isinstance(v, str)]
        needles = sorted(self.needles.get(name, ()))
        roll = self.rng.random()
        if needles and roll < 0.4:
            return self.rng.choice(("", "Senior ", "the ")) + self.rng.choice(needles).title() + \
                self.rng.choice(("", " of Sales", " IT"))
        if pool and roll < 0.85:
            value = self.rng.choice(pool)
            return value.upper() if self.rng.random() < 0.05 else value
        return self.rng.choice(_WORDS) or self.rng.choice(("x", "y"))

    def _date(self, name: str, _values: Any) -> Any:
        ages = sorted(self.ages.get(name, ()))
        if ages and self.rng.random() < 0.6:
            days_ago = self.rng.choice(ages) + self.rng.choice((-1, 0, 0, 1))
        else:
            days_ago = self.rng.randint(-10, 400)
        day = self.now - timedelta(days=days_ago)
        roll = self.rng.random() if self.messy else 0.0
        if roll < 0.45:
            return day
        if roll < 0.75:
            return day.isoformat()
        if roll < 0.85:
            return f"{day.year}-{day.month}-{day.day}"
        if roll < 0.95:
            return datetime.combine(day, time(self.rng.randint(0, 23), 30), tzinfo=UTC)
        return day.isoformat() + "T12:00:00Z"

    _datetime = _date


def generate_records(ruleset: Ruleset, kind: str, count: int, *, seed: int = 0,
                     now: date = date(2026, 11, 24), messy: bool = True) -> list[dict[str, Any]]:
    """``count`` seeded, realistic records of ``kind`` for ``ruleset``.

    ``messy=True`` (the default, for parity tests) mixes in strings where numbers belong, garbage,
    date strings and so on; ``messy=False`` gives values already of the declared types (as the
    connectors deliver them), with missing keys and nulls still present.
    """
    return RecordGenerator(ruleset.kind(kind), seed, now, messy).records(count)
