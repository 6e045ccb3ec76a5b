"""Schema and meaning checks report FILE:LINE:COLUMN: message with a hint."""
from __future__ import annotations

import pytest

from rules.load import PLAYBOOKS, load_ruleset
from tests.rules.conftest import MINI, compile_text, line_of, problems_of


def test_the_mini_file_and_the_playbook_are_valid() -> None:
    assert set(compile_text(MINI).kinds) == {"lead"}
    assert set(load_ruleset(PLAYBOOKS / "the-model.yaml").kinds) == {"lead", "opportunity", "account"}


def _only(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_field_with_suggestion() -> None:
    text = MINI.replace("{field: clicks, ge: 1}", "{field: clikcs, ge: 1}")
    problem = _only(text)
    assert problem.startswith(f"mini.yaml:{line_of(text, 'clikcs')}:")
    assert "unknown field 'clikcs'" in problem and "did you mean 'clicks'?" in problem


def test_unknown_stage_in_rule_target() -> None:
    text = MINI.replace("        to: warm", "        to: lukewarm")
    problem = _only(text)
    assert problem.startswith(f"mini.yaml:{line_of(text, 'lukewarm')}:13: unknown stage 'lukewarm'")
    assert "hint: did you mean 'warm'?" in problem


def test_transition_not_allowed() -> None:
    text = MINI.replace("      new: [warm, hot]", "      new: [hot]").replace("      hot: [new]", "      hot: [new, warm]")
    problem = _only(text)
    assert problem.startswith(f"mini.yaml:{line_of(text, '- id: warm_up')}:")
    assert "moves new -> warm, which `transitions:` does not allow" in problem
    assert "hint: add warm under transitions.new" in problem


def test_unreachable_stage() -> None:
    text = MINI.replace("      - name: hot\n", "      - name: hot\n      - name: lost\n")
    problem = _only(text)
    assert problem.startswith(f"mini.yaml:{line_of(text, 'name: lost')}:9: stage 'lost' is unreachable")
    assert "entry: true" in problem


def test_equal_priorities_that_can_overlap_with_different_outcomes() -> None:
    text = MINI.replace("        priority: 20\n        from: new", "        priority: 10\n        from: new")
    problem = _only(text)
    assert problem.startswith(f"mini.yaml:{line_of(text, '- id: warm_up')}:")
    assert "'heat'" in problem and "same priority 10" in problem and "decide differently" in problem


def test_equal_priorities_on_disjoint_stages_are_fine() -> None:
    text = MINI.replace("        priority: 5\n        from: hot", "        priority: 10\n        from: hot")
    rules = compile_text(text).kind("lead").rules
    assert [r.id for r in rules] == ["cool_down", "heat", "warm_up"]     # ties broken by id
    assert [r.order for r in rules] == [0, 1, 2]


def test_equal_priorities_on_disjoint_ranges_are_fine() -> None:
    extra = ("      - {id: a_low, priority: 30, from: warm, when: {field: clicks, lt: 5}, to: new}\n"
             "      - {id: b_high, priority: 30, from: warm, when: {field: clicks, ge: 5}, to: hot}\n")
    compile_text(MINI + extra)
    overlapping = extra.replace("lt: 5", "le: 5")
    assert "same priority 30" in _only(MINI + overlapping)


@pytest.mark.parametrize("old, new, expected", [
    ("{field: clicks, ge: 1}", "{field: clicks, ge: many}", "clicks is a number, but text was given"),
    ("{field: vip, eq: true}", "{field: vip, gt: 1}", "`gt` cannot compare vip (bool)"),
    ("{field: clicks, ge: 1}", "{field: clicks, contains: x}", "`contains` needs a text field"),
    ("{field: clicks, ge: 1}", "{field: clicks, between: 1}", "unknown operator 'between'"),
    ("{threshold: hot}", "{threshold: hto}", "unknown threshold 'hto'"),
    ("{days_since: seen, gt: 30}", "{days_since: email, gt: 30}", "`days_since:` needs a date field"),
    ("{field: email, exists: true}", "{field: email}", "has no operator"),
    ("action: recycle", "action: explode", "unknown action 'explode'"),
    ("points: 30", "points: 1.5", "points must be a whole number"),
    ("      title: string", "      title: strin", "unknown field type 'strin'"),
    ("      title: string", "      id: string", "the field name 'id' is reserved"),
    ("    rules:", "    rulez:", "unknown key 'rulez'"),
    ("{field: clicks, ge: 1}", "{field: score, ge: 1}", "the field 'score' cannot be used here"),
    ("{field: clicks, ge: 1}", "{field: seen, ge: 2026-13-01}", "is not a date"),
    ("{field: clicks, ge: 1}", "{field: clicks, ge: .inf}", "finite number"),
    ("{field: clicks, ge: 1}", "{all: []}", "needs at least one condition"),
])
def test_type_and_schema_problems(old: str, new: str, expected: str) -> None:
    text = MINI.replace(old, new, 1)
    assert text != MINI
    problem = _only(text)
    assert expected in problem
    location = problem.split(": ", 1)[0]
    file, line, column = location.split(":")
    assert file == "mini.yaml" and int(line) >= 1 and int(column) >= 1


def test_several_problems_are_all_reported_in_file_order() -> None:
    text = MINI.replace("{field: clicks, ge: 1}", "{field: nope, ge: 1}").replace("to: warm", "to: nowhere")
    problems = problems_of(text)
    assert len(problems) == 2
    assert [int(p.split(":")[1]) for p in problems] == sorted(int(p.split(":")[1]) for p in problems)


def test_read_only_stage_cannot_be_a_rule_source() -> None:
    text = MINI.replace("      - name: hot\n", "      - name: hot\n      - {name: gone, read_only: true, entry: true}\n")
    text = text.replace("        from: hot\n", "        from: [hot, gone]\n")
    assert "starts from the read-only stage 'gone'" in _only(text)


def test_gate_problems() -> None:
    gates = ("    gates:\n"
             "      - {stage: warm, mode: sometimes, priority: 1, criteria: [{id: ok, when: {field: vip, eq: true}}]}\n")
    assert "unknown gate mode 'sometimes'" in _only(MINI + gates)
    auto_last = gates.replace("stage: warm, mode: sometimes", "stage: hot, mode: auto")
    assert "has no later stage to advance to" in _only(MINI + auto_last)


def test_top_level_problems() -> None:
    assert "needs the key 'kinds'" in _only("baton: 1\nname: x\n")
    assert "unsupported language version" in _only(MINI.replace("baton: 1", "baton: 2"))
    assert "unknown record kind 'leads'" in _only(MINI.replace("  lead:\n", "  leads:\n"))
    assert "must be a mapping" in _only("- a\n- b\n")
