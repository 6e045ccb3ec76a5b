"""Rule tests for admins: given-record / expected-outcome tables (``baton rules test``).

A cases file is YAML (read with the same hostile-input-proof loader as rules files)::

    now: 2026-11-24                 # evaluation date for every case (a case may override it)
    cases:
      - name: exactly 100 points qualifies
        kind: lead
        record: {stage: nurturing, email: a@example.com, seminar_attended: true, ...}
        expect: {kind: transition, stage: qualified, score: 100, rule: qualify_score}

``expect`` keys: ``kind``, ``stage`` (the decided stage), ``from_stage``, ``rule``, ``score``,
``probability``, ``reason`` (exact) or ``reason_contains``, ``missing`` (gate criteria, in order),
``signals`` (ids of matched signals, any order) and ``set`` (a subset of the fields to set).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.engine import Decision
from rules.errors import RulesError
from rules.ir import Loc, Ruleset
from rules.pyengine import PythonEngine
from rules.schema import Reader
from rules.yamlsafe import Node, load_file

EXPECT_KEYS = ("kind", "stage", "from_stage", "rule", "score", "probability", "reason", "reason_contains",
               "missing", "signals", "set")
_CASE_KEYS = ("name", "kind", "now", "record", "expect", "description")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    now: date
    record: dict[str, Any]
    expect: dict[str, Any]
    loc: Loc


@dataclass
class CaseResult:
    case: Case
    decision: Decision | None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _plain(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {key: _plain(child) for key, child in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(child) for child in node.value]
    return node.value


def _date(reader: Reader, node: Node) -> date | None:
    try:
        return date.fromisoformat(str(node.value))
    except ValueError:
        reader.error(node.loc, f"{node.value!r} is not a date", "write YYYY-MM-DD")
        return None


def load_cases(path: str, ruleset: Ruleset) -> list[Case]:
    """Parse a cases file; raises :class:`RulesError` with FILE:LINE:COLUMN problems."""
    root, _ = load_file(path)
    reader = Reader()
    top = reader.mapping(root, "the cases file", ("now", "cases", "description"), ("cases",)) or {}
    default_now = _date(reader, top["now"]) if "now" in top else None
    cases: list[Case] = []
    names: set[str] = set()
    for item in (reader.sequence(top["cases"], "`cases:`") or []) if "cases" in top else []:
        case = _case(reader, item, ruleset, default_now, names)
        if case is not None:
            cases.append(case)
    if reader.problems:
        raise RulesError(reader.problems)
    return cases


def _case(reader: Reader, node: Node, ruleset: Ruleset, default_now: date | None, names: set[str]) -> Case | None:
    entries = reader.mapping(node, "a case", _CASE_KEYS, ("name", "kind", "record", "expect"))
    if entries is None or not {"name", "kind", "record", "expect"} <= entries.keys():
        return None
    name = str(entries["name"].value)
    if name in names:
        reader.error(entries["name"].loc, f"two cases are named {name!r}", "give each case its own name")
    names.add(name)
    kind = entries["kind"].value
    if not isinstance(kind, str) or kind not in ruleset.kinds:
        reader.error(entries["kind"].loc, f"the ruleset has no kind {kind!r}", "use one of: " + ", ".join(ruleset.kinds))
        return None
    now = _date(reader, entries["now"]) if "now" in entries else default_now
    if now is None:
        if "now" not in entries:
            reader.error(node.loc, f"case {name!r} has no evaluation date", "add `now:` to the case or the file")
        return None
    record = reader.mapping(entries["record"], "`record:`")
    expect = reader.mapping(entries["expect"], "`expect:`", EXPECT_KEYS)
    if record is None or expect is None:
        return None
    if not _expect_shapes(reader, expect):
        return None
    plain_record = {key: _plain(child) for key, child in record.items()}
    plain_record.setdefault("id", name)
    return Case(name, kind, now, plain_record, {k: _plain(v) for k, v in expect.items()}, node.loc)


def _expect_shapes(reader: Reader, expect: dict[str, Node]) -> bool:
    """``missing`` and ``signals`` are lists of names, ``set`` a mapping; other keys are scalars."""
    fine = True
    for key, node in expect.items():
        if key in ("missing", "signals"):
            ok = isinstance(node.value, list) and all(isinstance(i.value, str) for i in node.value)
            shape = "a list of names"
        elif key == "set":
            ok, shape = isinstance(node.value, dict), "a mapping of field: value"
        else:
            ok, shape = not isinstance(node.value, (dict, list)), "a single value"
        if not ok:
            reader.error(node.loc, f"expect `{key}:` must be {shape}", "")
            fine = False
    return fine


def check(case: Case, decision: Decision) -> list[str]:
    """What differs between the expectation and the decision (empty: the case passes)."""
    expect = case.expect
    actual: dict[str, Any] = {
        "kind": decision.kind, "stage": decision.to_stage, "from_stage": decision.from_stage,
        "rule": decision.rule_id, "score": decision.score, "probability": decision.probability,
        "reason": decision.reason, "missing": list(decision.missing_criteria),
    }
    failures = [f"{key}: expected {expect[key]!r}, got {actual[key]!r}"
                for key in actual if key in expect and not _same(expect[key], actual[key])]
    if "reason_contains" in expect and str(expect["reason_contains"]) not in decision.reason:
        failures.append(f"reason: expected to contain {expect['reason_contains']!r}, got {decision.reason!r}")
    if "signals" in expect:
        got = sorted(c.signal for c in decision.contributions)
        if sorted(expect["signals"] or []) != got:
            failures.append(f"signals: expected {sorted(expect['signals'] or [])}, got {got}")
    for name, value in (expect.get("set") or {}).items():
        if name not in decision.set_fields:
            failures.append(f"set {name}: expected {value!r}, but it is not set")
        elif not _same(value, decision.set_fields[name]):
            failures.append(f"set {name}: expected {value!r}, got {decision.set_fields[name]!r}")
    return failures


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(actual, date):
        return str(expected) == actual.isoformat()
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) \
            and not isinstance(expected, bool) and not isinstance(actual, bool):
        return abs(expected - actual) < 1e-9
    return expected == actual


def run_cases(ruleset: Ruleset, cases: list[Case]) -> list[CaseResult]:
    """Evaluate every case with the Python engine (both paths: batch and explain must agree)."""
    engine = PythonEngine(ruleset)
    results = []
    for case in cases:
        decision = engine.evaluate(case.kind, [case.record], case.now)[0]
        explained = engine.explain(case.kind, case.record, case.now)
        failures = check(case, decision)
        if explained.outcome() != decision.outcome():
            failures.append("internal: the batch and explain paths disagree (please report this)")
        results.append(CaseResult(case, explained, failures))
    return results
