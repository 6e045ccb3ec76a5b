"""Semantics of evaluation: missing values, scoring, priorities, explanations, code safety."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, timedelta

import pytest

from rules.codegen import _var, kind_source
from rules.conditions import holds
from rules.generate import generate_records
from rules.ir import All, AnyOf, Compare, Exists, InSet, Not, to_nnf
from rules.load import the_model
from rules.pyengine import PythonEngine
from tests.rules.conftest import MINI, compile_text

NOW = date(2026, 11, 24)


def _decide(ruleset, record: dict, now: date = NOW, kind: str = "lead"):
    engine = PythonEngine(ruleset)
    batch = engine.evaluate(kind, [record], now)[0]
    explained = engine.explain(kind, record, now)
    assert batch.outcome() == explained.outcome()
    return explained


@pytest.mark.parametrize("cond, expected", [
    (Compare("x", "eq", 1), False), (Compare("x", "ne", 1), True), (Compare("x", "lt", 1), False),
    (Compare("x", "ge", 1), False), (InSet("x", (1, 2)), False), (InSet("x", (1, 2), True), True),
    (Exists("x"), False), (Exists("x", True), True), (Not(Compare("x", "lt", 1)), True),
])
def test_missing_values(cond, expected) -> None:
    assert holds(cond, {"x": None}) is expected


def test_to_nnf_removes_not_and_keeps_meaning() -> None:
    rng = random.Random(7)
    leaves = [Compare("x", op, 3) for op in ("eq", "ne", "lt", "le", "gt", "ge")] + \
        [InSet("x", (1, 3)), InSet("x", (2,), True), Exists("x"), Exists("x", True)]

    def tree(depth: int):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(leaves)
        kind = rng.choice((All, AnyOf, Not))
        if kind is Not:
            return Not(tree(depth - 1))
        return kind(tuple(tree(depth - 1) for _ in range(rng.randint(1, 3))))

    for _ in range(300):
        cond = tree(4)
        flat = to_nnf(cond)
        assert "Not(" not in repr(flat)
        for value in (None, 1, 2, 3, 4):
            assert holds(cond, {"x": value}) == holds(flat, {"x": value})


@pytest.mark.parametrize("kind", ["lead", "opportunity"])
def test_generated_code_agrees_with_the_interpreter_on_messy_records(kind: str) -> None:
    ruleset = the_model()
    engine = PythonEngine(ruleset)
    records = generate_records(ruleset, kind, 3000, seed=11, now=NOW)
    decisions = engine.evaluate(kind, records, NOW)
    assert len(decisions) == len(records)
    for record, decision in zip(records, decisions):
        explained = engine.explain(kind, record, NOW)
        assert decision.outcome() == explained.outcome(), record
        assert decision.groups == explained.groups
    assert len({d.rule_id for d in decisions}) >= 6        # the records exercise many rules


def test_scores_all_signals_cap_and_priority(mini) -> None:
    decision = _decide(mini, {"id": "1", "stage": "new", "clicks": 2, "vip": True, "email": "a@b.c"})
    assert decision.score == 55 and [c.signal for c in decision.contributions] == ["clicked", "vip"]
    assert (decision.kind, decision.rule_id, decision.to_stage) == ("transition", "heat", "hot")
    assert decision.set_fields == {"stage": "hot", "score": 55}
    below = _decide(mini, {"id": "2", "stage": "new", "clicks": 2, "email": "a@b.c"})
    assert (below.score, below.rule_id, below.to_stage) == (30, "warm_up", "warm")


def test_half_life_decay_clamp_and_round_half_up() -> None:
    text = MINI.replace("        activity:\n", "        activity:\n"
                        "          decay: {mode: half_life, since: seen, half_life_days: 10}\n")
    ruleset = compile_text(text.replace("points: 25", "points: 20"))
    seen = (NOW - timedelta(days=20)).isoformat()
    decision = _decide(ruleset, {"id": "1", "stage": "warm", "clicks": 1, "vip": True, "seen": seen})
    assert decision.groups[0].capped == 50 and decision.groups[0].decayed == pytest.approx(12.5)
    assert decision.score == 13                               # 12.5 rounds half up
    capped = compile_text(text.replace("    scoring:\n", "    scoring:\n      maximum: 40\n"))
    assert _decide(capped, {"id": "2", "stage": "warm", "clicks": 1, "vip": True}).score == 40


def test_linear_decay_stops_at_zero_and_skips_negative_groups() -> None:
    text = MINI.replace("        activity:\n", "        activity:\n"
                        "          decay: {mode: linear, since: seen, every_days: 1, points: 10}\n")
    ruleset = compile_text(text)
    long_ago = (NOW - timedelta(days=400)).isoformat()
    assert _decide(ruleset, {"id": "1", "stage": "warm", "clicks": 1, "seen": long_ago}).score == 0
    assert _decide(ruleset, {"id": "1", "stage": "warm", "clicks": 1, "seen": None}).score == 30


def test_recycle_counts_up_and_now_is_an_input(mini) -> None:
    record = {"id": "r", "stage": "hot", "seen": "2026-10-01", "recycle_count": "2"}
    recycled = _decide(mini, record)
    assert (recycled.kind, recycled.to_stage, recycled.reason) == ("recycle", "new", "quiet")
    assert recycled.set_fields["recycle_count"] == 3 and recycled.set_fields["recycle_reason"] == "quiet"
    earlier = _decide(mini, record, now=date(2026, 10, 20))
    assert earlier.kind == "none"                            # 19 days: not yet quiet


def test_evaluation_is_deterministic() -> None:
    ruleset = the_model()
    records = generate_records(ruleset, "lead", 500, seed=3, now=NOW)
    first = [d.outcome() for d in PythonEngine(ruleset).evaluate("lead", records, NOW)]
    second = [d.outcome() for d in PythonEngine(ruleset).evaluate("lead", records, NOW)]
    assert first == second


def test_text_predicates_are_case_insensitive() -> None:
    text = MINI.replace("{field: vip, eq: true}", "{field: title, starts_with: [Head, VP]}")
    ruleset = compile_text(text)
    assert _decide(ruleset, {"id": "1", "stage": "warm", "title": "vp of sales"}).score == 25
    assert _decide(ruleset, {"id": "2", "stage": "warm", "title": "Senior VP"}).score == 0
    assert _decide(ruleset, {"id": "3", "stage": "warm", "title": 42}).score == 0


def test_explanations_name_conditions_and_values() -> None:
    decision = PythonEngine(the_model()).explain("lead", {
        "id": "00Q", "stage": "qualified", "email": "a@acme.com",
        "stage_changed_date": "2026-11-01", "last_activity_date": "2026-11-20"}, NOW)
    assert decision.rule_id == "recycle_sla_breach"
    labels = {h.label: h.display for h in decision.held}
    assert labels["days_since(stage_changed_date) > 14 (threshold sla_accept_days)"] == "23 days"
    assert json.loads(json.dumps(decision.to_json()))["set_fields"]["stage_changed_date"] == "2026-11-24"


def test_gate_decisions_carry_missing_criteria() -> None:
    decision = _decide(the_model(), {"id": "o", "stage": "phase_4", "solution_fit": True}, kind="opportunity")
    assert decision.kind == "gate_revert" and decision.to_stage == "phase_2"
    assert decision.missing_criteria == ("budget_confirmed", "authority_confirmed", "need_confirmed",
                                         "timeline_confirmed")
    assert decision.set_fields["probability"] == 25


def test_rules_file_text_never_becomes_code(tmp_path) -> None:
    marker = tmp_path / "pwned"
    payload = f"x'); open('{marker}', 'w') #\\n\"\"\" + __import__('os').getcwd()"
    text = MINI.replace("{field: email, exists: true}", "{field: email, eq: " + json.dumps(payload) + "}")
    ruleset = compile_text(text)
    assert repr(payload) in kind_source(ruleset.kind("lead"))
    decision = _decide(ruleset, {"id": "1", "stage": "new", "email": payload})
    assert decision.rule_id == "warm_up" and not marker.exists()
    assert _decide(ruleset, {"id": "2", "stage": "new", "email": "other"}).rule_id is None


@pytest.mark.parametrize("name", ["a;b", "__import__", "A", "x y", "é", "a" * 90])
def test_code_generator_refuses_unsafe_identifiers(name: str) -> None:
    with pytest.raises(ValueError):
        _var(name)


def test_unknown_kind_is_a_clear_error(mini) -> None:
    with pytest.raises(KeyError, match="no rules for kind 'deal'"):
        PythonEngine(mini).evaluate("deal", [], NOW)


def test_the_python_engine_never_imports_durable_rules() -> None:
    code = ("import sys, datetime\n"
            "from rules.load import the_model\nfrom rules.pyengine import PythonEngine\n"
            "from rules.generate import generate_records\nimport rules.mapping, rules.casefile, app.commands.rules\n"
            "rs = the_model()\n"
            "PythonEngine(rs).evaluate('lead', generate_records(rs, 'lead', 50), datetime.date(2026, 1, 1))\n"
            "assert not [m for m in sys.modules if m.startswith('durable')], 'durable imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explanations_of_negated_conditions_say_not() -> None:
    decision = PythonEngine(the_model()).explain("opportunity", {
        "id": "o", "stage": "phase_3", "solution_fit": True, "budget_confirmed": True,
        "authority_confirmed": False}, NOW)
    labels = [h.label for h in decision.held]
    assert labels == ["stage in ['phase_3', 'phase_4', 'phase_5']",
                      "not (authority_confirmed == true)"]
