"""Unit behaviour of rules/durable_engine.py beyond the quirks: compilation shapes, the phase-B
pre-test, input edge cases, and that memoised scores follow the evaluation date."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from rules import durable_engine as de
from rules.conditions import holds
from rules.generate import generate_records
from rules.ir import All, AnyOf, Compare, Exists, InSet, Not, Ruleset, leaves
from rules.load import the_model
from rules.normalise import normaliser
from rules.pyengine import PythonEngine

NOW = date(2026, 11, 24)


@pytest.fixture(scope="module")
def model() -> Ruleset:
    return the_model()


@pytest.mark.parametrize("cond,expected", [
    (Compare("n", "eq", 3), {"n": 3}),
    (Compare("n", "ge", 3), {"$gte": {"n": 3}}),
    (Compare("n", "lt", 2.5), {"$lt": {"n": 2.5}}),
    (Compare("s", "ne", "x"), {"$or": [{"$nex": {"s": 1}}, {"$neq": {"s": "x"}}]}),
    (InSet("s", ("a", "b")), {"$or": [{"s": "a"}, {"s": "b"}]}),
    (Exists("s"), {"$ex": {"s": 1}}),
    (Exists("s", negate=True), {"$nex": {"s": 1}}),
    (Not(Compare("n", "gt", 1)), {"$or": [{"$nex": {"n": 1}}, {"$lte": {"n": 1}}]}),
    (All((Compare("b", "eq", True), AnyOf((Exists("x"), Compare("n", "le", 0))))),
     {"$and": [{"b": True}, {"$or": [{"$ex": {"x": 1}}, {"$lte": {"n": 0}}]}]}),
])
def test_conditions_compile_to_durable_json(cond: Any, expected: dict[str, Any]) -> None:
    assert de.compile_condition(cond) == expected


def test_without_field_is_implied_by_the_rule(model: Ruleset) -> None:
    """Phase B only sees records phase A's relaxed rule matched: that must lose no record."""
    rules = model.kind("lead")
    normalise = normaliser(rules)
    score_rules = [r for r in rules.rules if "score" in {leaf.field for leaf in leaves(r.when)}]
    assert score_rules, "the playbook has a score-reading rule"
    rng = random.Random(5)
    for record in generate_records(model, "lead", 2000, seed=5):
        state = normalise(record, de.days_since_epoch(NOW))
        state["score"] = rng.choice([None, 0, 99, 100, 150])
        for rule in score_rules:
            relaxed = de.without_field(rule.when, "score")
            if holds(rule.when, state):
                assert relaxed is None or holds(relaxed, state)


def test_without_field_of_a_score_only_test_is_always_true() -> None:
    assert de.without_field(Compare("score", "ge", 100), "score") is None
    assert de.without_field(AnyOf((Compare("score", "ge", 1), Exists("x"))), "score") is None
    assert de.without_field(All((Compare("score", "ge", 1), Exists("x"))), "score") == All((Exists("x"),))


def test_empty_input_unknown_kind_and_bad_batch_size(model: Ruleset) -> None:
    engine = de.DurableEngine(model)
    assert engine.evaluate("lead", [], NOW) == []
    with pytest.raises(KeyError, match="no rules for kind 'contract'"):
        engine.evaluate("contract", [{"id": "x"}], NOW)
    with pytest.raises(ValueError, match="batch_size"):
        de.DurableEngine(model, batch_size=de.BATCH_SIZE + 1)


def test_read_only_records_are_skipped_and_order_is_kept(model: Ruleset) -> None:
    records = [{"id": "c", "stage": "converted", "email": "a@b.example", "inquiry": True},
               {"id": "q", "stage": "nurturing", "email": "a@b.example", "inquiry": True,
                "last_activity_date": NOW}]
    decisions = de.DurableEngine(model).evaluate("lead", records, NOW)
    assert [(d.record_id, d.kind, d.rule_id) for d in decisions] == \
        [("c", "skip", None), ("q", "transition", "qualify_hand_raiser")]
    assert decisions[1].set_fields["stage"] == "qualified"


def test_memoised_scores_follow_the_evaluation_date(model: Ruleset) -> None:
    """Same record on two dates: engagement decays with days since the last activity."""
    record = {"id": "d", "stage": "nurturing", "email": "a@b.example", "seminar_attended": True,
              "product_page_visits": 6, "last_activity_date": NOW - timedelta(days=20)}
    engine, reference = de.DurableEngine(model), PythonEngine(model)
    scores = []
    for now in (NOW, NOW + timedelta(days=30)):
        got = engine.evaluate("lead", [record], now)[0]
        assert got.outcome() == reference.evaluate("lead", [record], now)[0].outcome()
        scores.append(got.score)
    assert scores[0] > scores[1]


def test_decisions_carry_the_ruleset_version(model: Ruleset) -> None:
    decision = de.DurableEngine(model).evaluate("opportunity", [{"id": "o", "stage": "phase_1"}], NOW)[0]
    assert decision.ruleset_version == model.version
