"""The durable-rules engine and the plain-Python reference decide identically.

Compared: :meth:`rules.engine.Decision.outcome` (stage, rule id, kind, reason, score, contributions,
probability, fields to set, missing gate criteria, ruleset version), record by record.
"""
from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from typing import Any

import pytest

from rules.durable_engine import DurableEngine
from rules.generate import generate_records
from rules.ir import Ruleset
from rules.load import load_ruleset_text, the_model
from rules.pyengine import PythonEngine

NOW = date(2026, 11, 24)


def mismatches(ruleset: Ruleset, kind: str, records: list[dict[str, Any]], **options: Any) -> list[Any]:
    reference = PythonEngine(ruleset).evaluate(kind, records, NOW)
    durable = DurableEngine(ruleset, **options).evaluate(kind, records, NOW)
    assert len(durable) == len(records)
    return [(r.outcome(), d.outcome()) for r, d in zip(reference, durable) if r.outcome() != d.outcome()][:3]


@pytest.fixture(scope="module")
def model() -> Ruleset:
    return the_model()


def test_the_model_100000_records_per_kind_decide_identically(model: Ruleset) -> None:
    """Scale test (about 20-30 s): 100,000 messy generated records of each kind with rules
    (nulls, absent keys, strings where numbers belong, garbage, dates in every format)."""
    for kind in ("lead", "opportunity"):
        records = generate_records(model, kind, 100_000, seed=2026)
        assert mismatches(model, kind, records) == [], kind


@pytest.mark.parametrize("path,batch_size", [("host", 1000), ("direct", 7), ("direct", 1)])
def test_post_paths_and_batch_sizes_decide_identically(model: Ruleset, path: str, batch_size: int) -> None:
    records = generate_records(model, "lead", 1500, seed=7)
    assert mismatches(model, "lead", records, path=path, batch_size=batch_size) == []


def test_typed_records_decide_identically(model: Ruleset) -> None:
    """Records as the connectors deliver them (declared types, nulls and absent keys still present)."""
    for kind in ("lead", "opportunity"):
        records = generate_records(model, kind, 5000, seed=11, messy=False)
        assert mismatches(model, kind, records) == [], kind


HOSTILE = ['x", "i": 5, "y": "', '"i": 0', "\\", "日本語 Director", "Émile, VP", "\u0000", "a\nb", "'", "}]}"]


def test_hostile_strings_neither_break_nor_steer_the_engine(model: Ruleset) -> None:
    """Strings are posted as JSON: quotes, escapes, unicode and fake index keys change nothing."""
    records = [{"id": f"h{i}", "stage": "awareness", "email": text + "@gmail.com", "title": text,
                "industry": text, "disqualified_reason": text, "email_clicks": 1}
               for i, text in enumerate(HOSTILE)]
    records += [{"id": "sw", "stage": "nurturing", "email": "a@b.example", "industry": "Software"}]
    assert mismatches(model, "lead", records) == []


OPERATORS = textwrap.dedent("""\
    baton: 1
    name: operators
    thresholds: {hot: 40}
    kinds:
      lead:
        fields:
          stage: string
          email: string
          title: string
          country: string
          clicks: number
          ratio: number
          vip: bool
          seen: date
          created: datetime
          score: number
          recycle_count: number
          recycle_reason: string
        writes: {recycle_count: recycle_count, recycle_reason: recycle_reason}
        stages:
          - {name: new}
          - {name: warm}
          - {name: hot}
          - {name: frozen, read_only: true, entry: true}
        transitions: {new: [warm, hot], warm: [hot, new], hot: [new]}
        scoring:
          maximum: 90
          groups:
            activity:
              cap: 50
              decay: {mode: half_life, since: seen, grace_days: 3, half_life_days: 10}
              signals:
                - {id: clicked, points: 30, when: {field: clicks, ge: 1}}
                - {id: not_us, points: 10, when: {field: country, ne: US}}
                - {id: not_listed, points: 5, when: {field: country, not_in: [JP, DE]}}
                - {id: ratio_low, points: 7, when: {not: {field: ratio, gt: 0.5}}}
                - {id: either, points: 4, when: {any: [{field: vip, eq: true}, {field: clicks, lt: 0}]}}
            fit:
              signals:
                - {id: dr, points: 20, when: {field: title, starts_with: [dr]}}
                - {id: no_mail, points: -10, when: {field: email, missing: true}}
                - {id: new_record, points: 3, when: {days_since: created, le: 30}}
        rules:
          - {id: heat, priority: 10, from: [new, warm], when: {field: score, ge: {threshold: hot}}, to: hot}
          - id: warm_up
            priority: 20
            from: new
            when: {all: [{field: email, exists: true}, {field: vip, ne: false}]}
            to: warm
          - {id: cool, priority: 5, from: hot, when: {days_since: seen, gt: 30}, action: recycle, to: new,
             reason: quiet}
          - {id: ratio_rule, priority: 30, from: warm, when: {field: ratio, le: 0.25}, to: new}
    """)


def test_every_operator_and_half_life_decay_decide_identically() -> None:
    """ne / not_in / not / any / missing / starts_with / days_since / floats / half-life decay /
    score maximum / read-only stage, on messy generated records and hand-picked edges."""
    ruleset = load_ruleset_text(OPERATORS, "operators.yaml")
    records = generate_records(ruleset, "lead", 20_000, seed=3)
    records += [
        {"id": "e1", "stage": "new", "ratio": 0.5, "country": None, "vip": "false"},
        {"id": "e2", "stage": "warm", "ratio": "0.25", "seen": "2026-11-24T23:59:59+09:00", "clicks": 1.0},
        {"id": "e3", "stage": "hot", "seen": datetime(2026, 10, 1, tzinfo=UTC), "country": "JP"},
        {"id": "e4", "stage": "frozen", "clicks": 99},
        {"id": "e5", "stage": "new", "clicks": 10**30, "ratio": float("nan"), "title": "Dr. No"},
        {"id": "e6", "stage": "new", "clicks": -2**62, "ratio": -1e300, "created": "2026-11-24"},
    ]
    assert mismatches(ruleset, "lead", records) == []
