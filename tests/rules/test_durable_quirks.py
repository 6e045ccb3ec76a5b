"""Pins the measured quirks of durable-rules 2.0.28 and how rules/durable_engine.py contains each.

Each quirk has two halves: the raw behaviour of durable-rules (so an upgrade that changes it fails
here and someone re-reads the containment), and the engine's answer to it. durable-rules is reached
only through rules.durable_engine (the one module allowed to import it), also in the scripts
that run in subprocesses. The two quirks that kill
the process (threads, 512+ rules) and the one that loops (absence-only rules) are never triggered
in this process: their containment is checked, and the crashes only in a subprocess.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import date
from typing import Any

import pytest

from rules import durable_engine as de
from rules.engine import Decision
from rules.ir import Compare, Exists, InSet, Ruleset
from rules.load import load_ruleset_text, the_model
from rules.pyengine import PythonEngine

NOW = date(2026, 11, 24)
_NAMES = itertools.count()


def fresh_ruleset(rules: dict[str, Any]) -> str:
    """Register a raw durable ruleset under a new name (names can never be re-registered)."""
    name = f"quirk_{os.getpid()}_{next(_NAMES)}"
    de.process_host().set_rulesets({name: {rule: dict(body, run=rule) for rule, body in rules.items()}})
    return name


def gte_rule(field: str, value: Any) -> dict[str, Any]:
    return {"r": {"all": [{"m": {"$gte": {field: value}}}]}}


def fired_for(name: str, message: dict[str, Any]) -> list[str]:
    """Post one event; the rule names whose action fired (MessageNotHandled -> [])."""
    host = de.process_host()
    del host.fired[:]
    try:
        host.post(name, dict(message, sid=f"s{next(_NAMES)}"))
    except de.MessageNotHandledException:
        return []
    return [rule for rule, _ in host.fired]


@pytest.fixture(scope="module")
def model() -> Ruleset:
    return the_model()


@pytest.fixture(scope="module")
def engine(model: Ruleset) -> de.DurableEngine:
    return de.DurableEngine(model)


def lead(**fields: Any) -> dict[str, Any]:
    base = {"id": "L1", "stage": "nurturing", "email": "a@corp.example", "last_activity_date": NOW}
    base.update(fields)
    return base


def signals_of(decision: Decision) -> set[str]:
    return {c.signal for c in decision.contributions}


# ---------------------------------------------------------------- mixed types
@pytest.mark.parametrize("text", ["abc", "99", "1000"])
def test_raw_strings_compare_greater_than_numbers(text: str) -> None:
    name = fresh_ruleset(gte_rule("amount", 100))
    assert fired_for(name, {"amount": text}) == ["r"]


def test_engine_never_posts_a_string_to_a_numeric_comparison(engine: de.DurableEngine) -> None:
    decisions = engine.evaluate("lead", [lead(id="a", company_size="abc"), lead(id="b", company_size="99"),
                                         lead(id="c", company_size="1000")], NOW)
    assert [("company_50_plus" in signals_of(d), "company_1000_plus" in signals_of(d)) for d in decisions] == \
        [(False, False), (True, False), (True, True)]


# ---------------------------------------------------------------- dates, null, bool
def test_raw_dates_are_not_json_and_iso_strings_compare_as_text() -> None:
    name = fresh_ruleset({"r": {"all": [{"m": {"$gt": {"d": "2024-06-01"}}}]}})
    with pytest.raises(TypeError):
        fired_for(name, {"d": date(2024, 1, 1)})
    assert fired_for(name, {"d": "2024-5-1"}) == ["r"]          # May "after" June, as text


def test_engine_compares_dates_as_day_numbers(engine: de.DurableEngine) -> None:
    # recycle_no_activity: qualified and last activity more than 90 days ago, whatever the format.
    old = ["2026-5-1", "2026-05-01", date(2026, 5, 1), "2026-05-01T10:00:00Z"]
    recent = ["2026-11-1", date(2026, 11, 1)]
    records = [lead(id=str(i), stage="qualified", last_activity_date=v) for i, v in enumerate(old + recent)]
    rules = [d.rule_id for d in engine.evaluate("lead", records, NOW)]
    assert rules == ["recycle_no_activity"] * len(old) + [None] * len(recent)


def test_raw_null_never_matches_and_true_compares_as_one() -> None:
    """The reference says None and True do not match numeric rules; measured: True counts as 1."""
    at_least_one, at_least_two = fresh_ruleset(gte_rule("n", 1)), fresh_ruleset(gte_rule("n", 2))
    assert fired_for(at_least_one, {"n": None}) == []
    assert fired_for(at_least_one, {"n": True}) == ["r"]
    assert fired_for(at_least_two, {"n": True}) == []


def test_engine_posts_no_bool_to_a_numeric_field(engine: de.DurableEngine) -> None:
    decision = engine.evaluate("lead", [lead(email_clicks=True, company_size=None)], NOW)[0]
    assert not signals_of(decision) & {"email_clicked", "company_50_plus"}


# ---------------------------------------------------------------- reserved keys
def test_raw_id_is_the_message_identity() -> None:
    name = fresh_ruleset(gte_rule("n", 0))
    host = de.process_host()
    host.assert_fact(name, {"id": "same", "n": 1})
    with pytest.raises(de.MessageObservedException):
        host.assert_fact(name, {"id": "same", "n": 2})
    host.delete_state(name, de.SESSION)


def test_engine_decides_records_sharing_an_id(engine: de.DurableEngine) -> None:
    records = [lead(id="dup", email_clicks=1), lead(id="dup", email_clicks=5), lead(id="sid", sid="x")]
    decisions = engine.evaluate("lead", records, NOW)
    assert [d.record_id for d in decisions] == ["dup", "dup", "sid"]
    assert signals_of(decisions[1]) - signals_of(decisions[0]) == {"email_clicks_many"}


def test_engine_retries_a_batch_the_engine_calls_already_observed(model: Ruleset) -> None:
    """What a spurious identity-hash collision looks like: the batch is split and retried."""
    host = de.process_host()
    plan = de.KindPlan(model.kind("lead"), model.version)
    name = host.register(plan.phase_a, "lead")
    facts = [{"id": 7, de.INDEX_KEY: 0, "email_clicks": 1}, {"id": 7, de.INDEX_KEY: 1, "email_clicks": 5}]
    matches = de.match_batch(host, name, facts)
    assert sorted(matches[de.ANCHOR]) == [0, 1]
    assert matches["s1"] == [1]                      # email_clicks_many, the second signal


# ---------------------------------------------------------------- operators
def test_raw_in_operator_fails_ruleset_creation_with_202() -> None:
    with pytest.raises(de.EngineError, match="202"):
        fresh_ruleset({"r": {"all": [{"m": {"$in": {"x": [1, 2]}}}]}})


def test_raw_unknown_operator_is_accepted_and_never_matches() -> None:
    name = fresh_ruleset({"r": {"all": [{"m": {"$contains": {"title": "vp"}}}]}})
    assert fired_for(name, {"title": "vp"}) == []


def _operators(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {k for k in node if k.startswith("$")} | {o for v in node.values() for o in _operators(v)}
    if isinstance(node, list):
        return {o for item in node for o in _operators(item)}
    return set()


def test_compiled_playbook_uses_only_supported_operators(model: Ruleset) -> None:
    used = _operators(de.phase_definitions(model))
    assert used <= {"$and", "$or", "$ex", "$nex", "$neq", "$lt", "$lte", "$gt", "$gte"}
    assert "$in" not in used


def test_in_compiles_to_equalities_and_matches_like_python() -> None:
    name = fresh_ruleset({"r": {"all": [{"m": de.compile_condition(InSet("x", ("a", "b")))}]}})
    assert [bool(fired_for(name, {"x": v})) for v in ("a", "b", "c")] == [True, True, False]
    assert fired_for(name, {"y": 1}) == []


def test_raw_neq_is_false_on_a_missing_field() -> None:
    name = fresh_ruleset({"r": {"all": [{"m": {"$neq": {"x": 5}}}]}})
    assert fired_for(name, {"y": 1}) == []
    assert fired_for(name, {"x": 4}) == ["r"]


@pytest.mark.parametrize("cond", [Compare("x", "ne", 5), InSet("x", (5, 6), negate=True)])
def test_not_equal_compiles_to_match_a_missing_field(cond: Any) -> None:
    name = fresh_ruleset({"r": {"all": [{"m": {"$and": [de.compile_condition(cond), {"$gte": {"y": 0}}]}}]}})
    assert [bool(fired_for(name, m)) for m in ({"y": 1}, {"y": 1, "x": 4}, {"y": 1, "x": 5})] == \
        [True, True, False]


# ---------------------------------------------------------------- not handled, exceptions
def test_raw_message_matching_no_rule_raises_not_handled() -> None:
    name = fresh_ruleset(gte_rule("n", 10))
    with pytest.raises(de.MessageNotHandledException):
        de.process_host().post(name, {"n": 1, "sid": "nh"})


def test_engine_anchor_handles_a_record_no_rule_matches(engine: de.DurableEngine) -> None:
    decision = engine.evaluate("lead", [{"id": "empty"}], NOW)[0]
    assert (decision.kind, decision.rule_id, decision.score) == ("none", None, 0)


def test_raw_action_exception_is_swallowed_into_the_state() -> None:
    def explode(c: Any) -> None:
        raise ValueError("boom")
    name = f"quirk_raise_{next(_NAMES)}"
    de.process_host().set_rulesets({name: {"r": {"all": [{"m": {"$gte": {"n": 0}}}], "run": explode}}})
    state = de.process_host().post(name, {"n": 1, "sid": "ex"})
    assert "boom" in state["exception"]


# ---------------------------------------------------------------- sessions and facts
def test_raw_one_ruleset_holds_at_most_1024_live_sessions() -> None:
    """About 0.3 s: 1,025 sessions."""
    name = fresh_ruleset(gte_rule("n", 0))
    host = de.process_host()
    with pytest.raises(MemoryError):
        for sid in range(1025):
            host.assert_fact(name, {"n": 1, "sid": str(sid)})
    assert sid == 1024
    for live in range(1024):
        host.delete_state(name, str(live))


def test_engine_leaves_no_session_and_no_fact_behind(model: Ruleset) -> None:
    """3,000 one-record posts into one ruleset: more than the 1,024-session limit if any leaked."""
    engine = de.DurableEngine(model, batch_size=1)
    records = [lead(id=str(i), email_clicks=i % 7) for i in range(3000)]
    assert len(engine.evaluate("lead", records, NOW)) == 3000
    host = de.process_host()
    for name in host.registered.values():
        with pytest.raises(de.EngineError, match="309"):     # 309: no such session
            host.get_facts(name, de.SESSION)


def test_raw_facts_stay_in_a_session_until_it_is_deleted() -> None:
    name = fresh_ruleset(gte_rule("n", 0))
    host = de.process_host()
    host.assert_fact(name, {"n": 1})
    host.assert_fact(name, {"n": 2})
    assert len(host.get_facts(name, de.SESSION)) == 2
    host.delete_state(name, de.SESSION)
    host.assert_fact(name, {"n": 1})                 # the same fact again: no "already observed"
    host.delete_state(name, de.SESSION)


_DELETE_PENDING = """
import json, sys
from rules import durable_engine as de
from rules.load import the_model
durable_rules_engine = de.native
host = de.BatonHost()
host.set_rulesets({"lead_a": de.phase_definitions(the_model())["probe_lead_a"]})
handle = host.get_ruleset("lead_a")._handle
code, state = durable_rules_engine.assert_facts(handle, json.dumps([{de.INDEX_KEY: 0}]))
if sys.argv[1] == "drain":
    de._drain(handle, state)
durable_rules_engine.delete_state(handle, de.SESSION)
print("survived")
"""


@pytest.mark.parametrize("drain", [False, True])
def test_raw_deleting_a_session_with_pending_actions_crashes(drain: bool) -> None:
    """Measured while building the engine (a use-after-free: it crashed in every run through a
    Host): why the engine runs every pending action before it deletes a session."""
    done = subprocess.run([sys.executable, "-c", _DELETE_PENDING, "drain" if drain else "keep"],
                          capture_output=True, text=True, timeout=60, check=False)
    if drain:
        assert (done.returncode, done.stdout.strip()) == (0, "survived")
    else:
        assert done.returncode < 0 and "survived" not in done.stdout


# ---------------------------------------------------------------- registration
def test_raw_ruleset_name_cannot_be_registered_twice() -> None:
    name = fresh_ruleset(gte_rule("n", 0))
    with pytest.raises(Exception, match="already registered"):
        de.process_host().set_rulesets({name: {"r": {"all": [{"m": {"$gte": {"n": 0}}}], "run": "r"}}})


def test_engine_registers_each_compiled_ruleset_once_under_a_versioned_name(model: Ruleset) -> None:
    first, second = de.DurableEngine(model), de.DurableEngine(model)
    first.evaluate("lead", [lead()], NOW)
    host = de.process_host()
    before = dict(host.registered)
    second.evaluate("lead", [lead()], NOW)
    assert host.registered == before
    name = host.registered[first.plans["lead"].phase_a.digest]
    assert name.startswith("baton_lead_" + first.plans["lead"].phase_a.digest)
    changed = load_ruleset_text(_signals_yaml(3, points=7), "changed.yaml")
    de.DurableEngine(changed).evaluate("lead", [lead()], NOW)
    assert len(host.registered) == len(before) + 1


def _signals_yaml(count: int, points: int = 5) -> str:
    signals = "\n".join(f"            - {{id: s{i}, points: {points}, when: {{field: clicks, ge: {i}}}}}"
                        for i in range(count))
    return textwrap.dedent("""\
        baton: 1
        name: many
        kinds:
          lead:
            fields: {stage: string, clicks: number, score: number}
            stages: [{name: new}, {name: warm}]
            transitions: {new: [warm]}
            scoring:
              groups:
                g:
                  signals:
        """) + signals + "\n"


def test_engine_refuses_a_ruleset_over_its_rule_cap() -> None:
    too_many = load_ruleset_text(_signals_yaml(de.MAX_RULES_PER_RULESET), "many.yaml")
    with pytest.raises(de.DurableLimitError, match="split the rules file"):
        de.DurableEngine(too_many)
    fits = load_ruleset_text(_signals_yaml(de.MAX_RULES_PER_RULESET - 1), "fits.yaml")
    de.probe_registration(de.phase_definitions(fits), timeout=60)


def test_probe_catches_the_512_rule_hang_in_a_subprocess() -> None:
    """The hang itself runs in a throwaway subprocess, killed after 3 s."""
    rules = {f"r{k}": {"all": [{"m": {"$gte": {"x": k}}}], "run": "r"} for k in range(512)}
    with pytest.raises(de.DurableLimitError):
        de.probe_registration({"big": rules}, timeout=3)


# ---------------------------------------------------------------- absence-only rules
def test_every_compiled_rule_is_anchored_by_a_positive_test(model: Ruleset) -> None:
    for definition in de.phase_definitions(model).values():
        for rule_id, rule in definition.items():
            test = rule["all"][0]["m"]
            assert test == {"$gte": {de.INDEX_KEY: 0}} or {"$gte": {de.INDEX_KEY: 0}} in test["$and"], rule_id


def test_missing_only_condition_still_decides_like_python(model: Ruleset) -> None:
    name = fresh_ruleset({"r": de.durable_rule(Exists("email", negate=True))})
    assert fired_for(name, {de.INDEX_KEY: 0}) == ["r"]
    assert fired_for(name, {de.INDEX_KEY: 0, "email": "x"}) == []


# ---------------------------------------------------------------- threads, fork, timers
def test_host_starts_no_background_threads() -> None:
    before = threading.active_count()
    de.BatonHost()
    assert threading.active_count() == before


def test_engine_refuses_a_second_thread(engine: de.DurableEngine) -> None:
    engine.evaluate("lead", [lead()], NOW)            # the host belongs to this thread
    errors: list[BaseException] = []

    def use() -> None:
        try:
            engine.evaluate("lead", [lead()], NOW)
        except BaseException as error:               # noqa: BLE001 - reported below
            errors.append(error)
    worker = threading.Thread(target=use)
    worker.start()
    worker.join()
    assert len(errors) == 1 and isinstance(errors[0], de.DurableEngineError)
    assert "one thread" in str(errors[0])


def test_forked_child_builds_its_own_host_and_decides_the_same(engine: de.DurableEngine,
                                                               model: Ruleset) -> None:
    records = [lead(id=str(i), email_clicks=i, stage="awareness") for i in range(20)]
    expected = [d.outcome() for d in PythonEngine(model).evaluate("lead", records, NOW)]
    parent_host = de.process_host()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                     # the child: report and leave at once
        try:
            os.close(read)
            child_host = de.process_host()
            outcome = [list(map(repr, d.outcome())) for d in engine.evaluate("lead", records, NOW)]
            os.write(write, json.dumps({"new_host": child_host is not parent_host,
                                        "pid": child_host.pid, "outcome": outcome}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert report["new_host"] and report["pid"] == pid
    assert report["outcome"] == [list(map(repr, o)) for o in expected]
    assert de.process_host() is parent_host


def test_supported_python_versions_are_declared() -> None:
    assert "3.11 and 3.12" in (de.__doc__ or "")
    assert (3, 11) <= sys.version_info[:2] <= (3, 12)


# ---------------------------------------------------------------- numbers in JSON
_EXPONENT = """
import json, sys
from rules.durable_engine import _drain, native as d
h = d.create_ruleset("x", json.dumps({"a": {"all": [{"m": {"$gte": {"i": 0}}}], "cap": 10}}))
code, state = d.assert_facts(h, '[{"i": 0, "x": %s}, {"i": 1}]' % sys.argv[1])
print(len(_drain(h, state)))      # after '1e+20', `state` is uninitialised: 0, or garbage -> segfault
"""


@pytest.mark.parametrize("text,lost", [("1e+20", True), ("1e-07", True), ("1.0e+20", False), ("1.5", False)])
def test_raw_exponent_without_fraction_breaks_the_post(text: str, lost: bool) -> None:
    """Found by the parity test: json.dumps(1e20) is '1e+20'; the batch is silently dropped (the
    returned session handle is uninitialised) or, when the handle is garbage, the process dies."""
    done = subprocess.run([sys.executable, "-c", _EXPONENT, text], capture_output=True, text=True, timeout=60, check=False)
    if lost:
        assert done.returncode < 0 or done.stdout.strip() == "0"
    else:
        assert (done.returncode, done.stdout.strip()) == (0, "1")


def test_raw_integers_are_clamped_to_64_bits() -> None:
    name = fresh_ruleset({"r": {"all": [{"m": {"n": 2**63 - 1}}]}})
    assert fired_for(name, {"n": 2**64}) == ["r"]           # 2**64 "equals" 2**63 - 1


def test_engine_posts_huge_and_tiny_numbers_safely(engine: de.DurableEngine) -> None:
    records = [lead(id="big", company_size=1e20), lead(id="huge", company_size=10**30),
               lead(id="tiny", company_size=1e-7), lead(id="neg", company_size=-2**70)]
    sizes = [("company_50_plus" in signals_of(d), "company_1000_plus" in signals_of(d))
             for d in engine.evaluate("lead", records, NOW)]
    assert sizes == [(True, True), (True, True), (False, False), (False, False)]
    assert de.careful_json([{"a": 1e20, "b": 1e-7, "c": 10**30, "s": "1e5"}]) == \
        '[{"a": 1.0e+20, "b": 1.0e-07, "c": 1.0e+30, "s": "1e5"}]'


def test_engine_refuses_literals_durable_rules_would_misread() -> None:
    with pytest.raises(de.DurableLimitError, match="plain decimal"):
        de.compile_condition(Compare("n", "ge", 1e20))
    with pytest.raises(de.DurableLimitError, match="64 bits"):
        de.compile_condition(InSet("n", (1, 2**64)))
