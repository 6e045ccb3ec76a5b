"""The shipped playbook reaches a fixed point: once Baton has written a decision, evaluating the record
again (nothing else changed, same day) decides nothing new.

Without this, every sync would write again (records flip between a recycle rule and a
qualification rule), spending API quota and burying the audit trail.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from app.pipeline.values import same_value
from rules.generate import generate_records
from rules.load import the_model
from rules.pyengine import PythonEngine

NOW = dt.date(2026, 11, 2)


@pytest.mark.parametrize("kind", ["lead", "opportunity"])
def test_a_written_decision_is_a_fixed_point(kind: str) -> None:
    ruleset = the_model()
    engine = PythonEngine(ruleset)
    records = generate_records(ruleset, kind, 5000, seed=11, now=NOW)
    first = engine.evaluate(kind, records, NOW)
    applied = [{**record, **decision.set_fields} for record, decision in zip(records, first, strict=True)]
    second = engine.evaluate(kind, applied, NOW)
    flips = Counter((a.rule_id, b.rule_id, field)
                    for a, b, record in zip(first, second, applied, strict=True)
                    for field, value in b.set_fields.items() if not same_value(record.get(field), value))
    assert not flips, f"decisions that change again on the next sync (first rule, second rule, field): {flips.most_common(8)}"
