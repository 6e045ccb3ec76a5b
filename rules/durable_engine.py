"""The durable-rules engine of record: the IR compiled to durable-rules rulesets, run in batches.

This is THE ONLY module of Baton that imports durable-rules (``durable`` and its C extension
``durable_rules_engine``). Every quirk of durable-rules 2.0.28 measured in
``shared/reference/durable-rules.md`` is contained here and pinned by ``tests/rules/test_durable*.py``.

Supported Python versions: 3.11 and 3.12. durable-rules 2.0.28 installs on 3.13 but fails to import
there (``undefined symbol: PyEval_CallObject``), and there is no fixed release.

How a batch is evaluated (at most :data:`BATCH_SIZE` records per post):

1. Each record is normalised to the declared types (:mod:`rules.normalise` converters; dates as
   integer days, derived fields computed) and projected on the fields the rules read. Missing values
   are left out of the fact (never ``None``, never a string where a number is compared), the CRM
   ``id`` is not posted (``id``/``sid`` are reserved by durable-rules), and every fact carries its
   position in the batch under :data:`INDEX_KEY`.
2. Phase A: the whole batch is asserted as facts, in one call, into one session of a ruleset holding
   one durable rule per scoring signal and per stage rule that does not read the computed score.
   Facts, not events: every rule that matches fires (needed for scoring). Each rule has
   ``cap = BATCH_SIZE``, so it fires ONCE per batch with the list of every fact it matched; the
   action only records (rule, fact indices). The score arithmetic (caps, decay, rounding) is the
   shared :mod:`rules.scoring`; the stage decision is the matched stage rule of lowest ``order``
   (orders are unique, so first-hit by priority is deterministic). Phase A also holds, per
   score-reading rule, that rule with its score tests taken as true: the records it matches are the
   only ones phase B needs.
3. Phase B, only for those records and only where no rule of lower order matched: the facts, now
   with the computed score, are asserted into a second ruleset holding the score-reading rules.
4. Every action is run in the calling thread, then the session is deleted (facts never pile up, no
   sid is ever left alive), and the anchor rule, which matches every fact, must have seen every
   record of the batch.

Quirks contained (see the reference and tests/rules/test_durable_quirks.py): mixed-type comparisons
match (normalise first); ``$in`` is unsupported (``in`` compiles to ``$or`` of equalities); ``$neq``
is false on a missing field (``ne`` compiles to ``$nex OR $neq``); absence-only rules loop on the
session's state fact (every rule is anchored with the positive test ``INDEX_KEY >= 0``, which the
state fact never has); a message no rule matches raises (the anchor matches every fact); engine
timers and the Host's dispatch threads are never started (so nothing runs on engine threads);
ruleset names cannot be re-registered (versioned names, registered once per Host); 512+ rules break
a ruleset (capped at :data:`MAX_RULES_PER_RULESET`; :func:`probe_registration` tries uploads in a
subprocess with a timeout); threads crash it (an engine refuses a second thread); fork (one Host per
process, created lazily and rebuilt when the pid changes); identity-hash collisions in big sessions
(an "already observed" batch is split and retried). Found while building this module: deleting a
session whose actions are still pending is a segmentation fault (actions are always drained first);
a number in exponent notation without a fraction (``1e+20``, what ``json.dumps`` writes) silently
drops the batch or crashes, and integers beyond 64 bits are clamped (such batches are written by
:func:`careful_json`; such literals in rules are refused).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import durable_rules_engine
from durable.engine import Host, MessageNotHandledException, MessageObservedException

from rules.decide import DecisionBuilder
from rules.engine import Contribution, Decision, Engine, GroupScore, record_id_of
from rules.ir import (
    EPOCH_ORDINAL,
    AgeField,
    All,
    AnyOf,
    Compare,
    Condition,
    Exists,
    InSet,
    KindRules,
    Ruleset,
    StageRule,
    TextMatchField,
    days_since_epoch,
    fields_of,
    to_nnf,
)
from rules.normalise import complete, to_bool, to_days, to_number, to_string
from rules.scoring import decayed, final_score

#: Facts per post. 100-1,000 measured fastest; small enough that a session never nears the ~18,000
#: facts where durable-rules' 32-bit identity hash starts to collide.
BATCH_SIZE = 1000
#: Rules per durable ruleset. 512 rules on one node break every post and 513+ hang registration.
MAX_RULES_PER_RULESET = 400
#: The key carrying a fact's position in its batch; the positive anchor of every rule.
INDEX_KEY = "i"
#: The session (sid) every batch goes into: durable-rules' default sid, so facts need no "sid" key.
SESSION = "0"
#: Name of the anchor rule that matches every fact.
ANCHOR = "all"

PostPath = Literal["direct", "host"]
#: The C extension itself, for tests that pin its raw behaviour (nothing else may import it).
native = durable_rules_engine
#: The C extension's error type (ruleset creation and session errors carry a numeric code).
EngineError = durable_rules_engine.error
_INDEX = re.compile(r'"' + INDEX_KEY + r'": ?(\d+)')
_INT64 = (-2**63, 2**63 - 1)
#: Marks a normalised record holding a number durable-rules' JSON parser mishandles: exponent
#: notation without a fraction (``1e+20`` drops the batch or crashes; ``1.0e+20`` is read right) or
#: an integer beyond 64 bits (clamped). Such a batch is posted with :func:`careful_json`.
AWKWARD = "__awkward"
_COMPARE_OPS = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
_POSITIVE_ANCHOR: dict[str, Any] = {"$gte": {INDEX_KEY: 0}}


class DurableEngineError(RuntimeError):
    """durable-rules did something Baton cannot accept (a check failed); the batch is not decided."""


class DurableLimitError(ValueError):
    """Rules durable-rules cannot run safely: more than :data:`MAX_RULES_PER_RULESET` rules in one
    ruleset, a number literal it would misread, or rules that hang or crash it (the probe)."""


# ---------------------------------------------------------------- conditions -> durable JSON
def compile_condition(cond: Condition) -> dict[str, Any]:
    """The durable-rules form of an IR condition (missing-aware, no ``$in``, no negation)."""
    return _compile(to_nnf(cond))


def _compile(cond: Condition) -> dict[str, Any]:
    if isinstance(cond, All):
        return {"$and": [_compile(item) for item in cond.items]}
    if isinstance(cond, AnyOf):
        return {"$or": [_compile(item) for item in cond.items]}
    if isinstance(cond, Exists):
        return {("$nex" if cond.negate else "$ex"): {cond.field: 1}}
    if isinstance(cond, InSet):
        return _in_set(cond.field, cond.values, cond.negate)
    if isinstance(cond, Compare):
        return _compare(cond)
    raise TypeError(f"not a normalised condition: {cond!r}")


def _in_set(field: str, values: tuple[Any, ...], negate: bool) -> dict[str, Any]:
    for value in values:
        _checked(value)
    # `$in` makes ruleset creation fail (error 202): a disjunction of equalities instead.
    if not negate:
        return {"$or": [{field: value} for value in values]}
    # not_in holds on a missing field; `$neq` alone is false there.
    return {"$or": [{"$nex": {field: 1}}, {"$and": [{"$neq": {field: value}} for value in values]}]}


def _checked(value: Any) -> Any:
    """A literal durable-rules reads back as written (its JSON parser crashes on ``1e+20`` and
    clamps integers to 64 bits); other literals are refused when the rules are compiled."""
    if value.__class__ is float and "e" in repr(value) or \
            value.__class__ is int and not _INT64[0] <= value <= _INT64[1]:
        raise DurableLimitError(f"the number {value!r} in a rule cannot be given to durable-rules "
                                f"(it crashes on exponent notation and clamps integers to 64 bits): "
                                f"use a plain decimal number between -1e15 and 1e15")
    return value


def _compare(cond: Compare) -> dict[str, Any]:
    _checked(cond.value)
    if cond.op == "eq":
        return {cond.field: cond.value}
    if cond.op == "ne":
        return {"$or": [{"$nex": {cond.field: 1}}, {"$neq": {cond.field: cond.value}}]}
    return {_COMPARE_OPS[cond.op]: {cond.field: cond.value}}


def durable_rule(cond: Condition | None, cap: int = BATCH_SIZE) -> dict[str, Any]:
    """One durable rule: the condition anchored by a positive test, firing once per batch.

    The anchor matters twice: a rule that only tests absence would match the session's own state
    fact and loop, and a fact that no rule matches would make the whole post raise.
    """
    test = _POSITIVE_ANCHOR if cond is None else {"$and": [compile_condition(cond), _POSITIVE_ANCHOR]}
    return {"all": [{"m": test}], "cap": cap}


# ---------------------------------------------------------------- the plan of one kind
def _score_reading(rule: StageRule, rules: KindRules) -> bool:
    return rules.scoring is not None and rules.scoring.field in fields_of(rule.when)


def without_field(cond: Condition, field: str) -> Condition | None:
    """A weaker condition: every leaf on ``field`` taken as true (None: nothing left, always true).

    Used to ask durable-rules in phase A which records a score-reading rule could still match, so
    phase B posts only those."""
    cond = to_nnf(cond)
    if isinstance(cond, (All, AnyOf)):
        items = [without_field(item, field) for item in cond.items]
        if isinstance(cond, AnyOf):
            return None if any(item is None for item in items) else AnyOf(tuple(items), cond.loc)  # type: ignore[arg-type]
        kept = tuple(item for item in items if item is not None)
        return All(kept, cond.loc) if kept else None
    return None if cond.field == field else cond  # type: ignore[union-attr]


@dataclass(frozen=True)
class Phase:
    """One durable ruleset: its JSON definition and what each durable rule name stands for."""

    definition: dict[str, Any]
    signals: dict[str, int]          # durable rule name -> signal index (bit in the signal mask)
    stage_rules: dict[str, int]      # durable rule name -> StageRule.order
    candidates: dict[str, int]       # durable rule name -> order of the phase-B rule it pre-tests
    fields: tuple[str, ...]          # the fields its rules read (all a fact needs)
    digest: str                      # content hash of the definition (part of the registered name)

    @staticmethod
    def build(kind: str, signals: Sequence[tuple[int, Condition]], rules: Sequence[StageRule],
              candidates: Sequence[tuple[int, Condition]] = ()) -> Phase:
        named = [(f"s{index}", cond) for index, cond in signals] + [(f"r{r.order}", r.when) for r in rules]
        named += [(f"c{order}", cond) for order, cond in candidates]
        if len(named) + 1 > MAX_RULES_PER_RULESET:
            raise DurableLimitError(
                f"kind {kind!r} compiles to {len(named) + 1} durable rules in one ruleset; durable-rules "
                f"breaks at 512 and Baton allows at most {MAX_RULES_PER_RULESET}: split the rules file")
        definition: dict[str, Any] = {ANCHOR: durable_rule(None)}
        definition.update((name, durable_rule(cond)) for name, cond in named)
        fields = tuple(dict.fromkeys(f for _, cond in named for f in sorted(fields_of(cond))))
        text = json.dumps(definition, sort_keys=True, ensure_ascii=False)
        return Phase(definition, {f"s{i}": i for i, _ in signals}, {f"r{r.order}": r.order for r in rules},
                     {f"c{order}": order for order, _ in candidates}, fields,
                     hashlib.sha256(text.encode()).hexdigest()[:16])


class KindPlan:
    """Everything compiled for one kind: projection, the two phases, decision finishing."""

    def __init__(self, rules: KindRules, version: str) -> None:
        self.rules = rules
        scoring = rules.scoring
        self.signals = scoring.signals if scoring else ()
        score_rules = [r for r in rules.rules if _score_reading(r, rules)]
        plain_rules = [r for r in rules.rules if not _score_reading(r, rules)]
        relaxed = [(r.order, without_field(r.when, scoring.field)) for r in score_rules] if scoring else []
        candidates = [(order, cond) for order, cond in relaxed if cond is not None]
        self.phase_a = Phase.build(rules.kind, [(i, s.when) for i, s in enumerate(self.signals)], plain_rules,
                                   candidates)
        self.phase_b = Phase.build(rules.kind, [], score_rules) if score_rules else None
        #: the lowest order of a score-reading rule that needs no phase-A candidate test
        self.always_candidate = min((order for order, cond in relaxed if cond is None), default=-1)
        self.project = projector(rules)
        self.builder = DecisionBuilder(rules, version)
        self.score_field = scoring.field if scoring else None
        self._contributions: dict[int, tuple[Contribution, ...]] = {}
        self._group_scores: dict[tuple[Any, ...], GroupScore] = {}
        self.decay_fields = tuple(g.decay.since_field for g in scoring.groups if g.decay) if scoring else ()
        self._scores: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def contributions(self, mask: int) -> tuple[Contribution, ...]:
        found = self._contributions.get(mask)
        if found is None:
            found = tuple(Contribution(s.id, s.group, s.points)
                          for bit, s in enumerate(self.signals) if mask >> bit & 1)
            self._contributions[mask] = found
        return found

    def score(self, mask: int, record: Mapping[str, Any], now_days: int
              ) -> tuple[int | None, tuple[Contribution, ...], tuple[GroupScore, ...]]:
        """The shared score arithmetic (rules.scoring) on the signals durable-rules matched.

        Memoised on what it reads: the mask, the decay dates and ``now``."""
        key = (mask, now_days, *[record.get(field) for field in self.decay_fields])
        found = self._scores.get(key)
        if found is None:
            if len(self._scores) > 100_000:
                self._scores.clear()
            found = self._scores[key] = self._compute_score(mask, record, now_days)
        return found

    def _compute_score(self, mask: int, record: Mapping[str, Any], now_days: int
                       ) -> tuple[int | None, tuple[Contribution, ...], tuple[GroupScore, ...]]:
        scoring = self.rules.scoring
        if scoring is None:
            return None, (), ()
        contributions = self.contributions(mask)
        groups: list[GroupScore] = []
        for group in scoring.groups:
            raw = sum(c.points for c in contributions if c.group == group.name)
            capped = raw if group.cap is None else min(raw, group.cap)
            groups.append(self._group(group.name, raw, capped, decayed(capped, group.decay, record, now_days)))
        return final_score(sum(g.decayed for g in groups), scoring), contributions, tuple(groups)

    def _group(self, name: str, raw: int, capped: int, value: float) -> GroupScore:
        key = (name, raw, capped, value)
        found = self._group_scores.get(key)
        if found is None:
            if len(self._group_scores) > 50_000:      # half-life decay makes many float values
                self._group_scores.clear()
            found = self._group_scores[key] = GroupScore(name, raw, capped, value)
        return found


# ---------------------------------------------------------------- normalisation (projection)
def projected_fields(rules: KindRules) -> list[str]:
    """Fields (declared or derived, score excluded) the durable rules and the decisions read."""
    wanted: list[str] = [rules.stage_field or "", rules.recycle_count_field or ""]
    if rules.scoring is not None:
        wanted += [g.decay.since_field for g in rules.scoring.groups if g.decay is not None]
        wanted += [f for s in rules.scoring.signals for f in fields_of(s.when)]
    wanted += [f for r in rules.rules for f in fields_of(r.when)]
    wanted += [f for g in rules.gates for c in g.criteria for f in fields_of(c.when)]
    score_field = rules.scoring.field if rules.scoring else None
    return [n for n in dict.fromkeys(wanted) if n and n != score_field]


def projector(rules: KindRules) -> Callable[[Mapping[str, Any], int], dict[str, Any]]:
    """``(record, now_days) -> normalised dict`` of only the fields the durable rules and decisions
    read. Same conversions as :func:`rules.normalise.normaliser` (its converters, with a shortcut
    for values already of the declared type); the parity test holds them together."""
    derived = {d.name: d for d in rules.derived}
    names = projected_fields(rules)
    sources = [derived[n].source for n in names if n in derived]
    plain = [n for n in dict.fromkeys(sources + names) if n not in derived]
    by_type = {kind: tuple(n for n in plain if rules.fields[n].type == kind)
               for kind in ("number", "bool", "string", "date", "datetime")}
    numbers, bools, strings, dates, stamps = (by_type[k] for k in ("number", "bool", "string", "date", "datetime"))
    ages = tuple((n, derived[n].source) for n in names if isinstance(derived.get(n), AgeField))
    texts = tuple((d.name, d.source, _text_match(d)) for d in (derived.get(n) for n in names)
                  if isinstance(d, TextMatchField))
    stage_field, stage_names = rules.stage_field, frozenset(rules.stage_names)

    def project(record: Mapping[str, Any], now_days: int) -> dict[str, Any]:
        # One loop per type with the already-typed case inline: a function call per field
        # would cost more than the rest of the projection.
        get = record.get
        out: dict[str, Any] = {}
        for name in numbers:
            value = get(name)
            if value.__class__ is not int or not _INT64[0] <= value <= _INT64[1]:
                value = to_number(value)
                if value.__class__ is float and "e" in repr(value) or \
                        value.__class__ is int and not _INT64[0] <= value <= _INT64[1]:
                    out[AWKWARD] = True
            out[name] = value
        for name in bools:
            value = get(name)
            out[name] = value if value.__class__ is bool else to_bool(value)
        for name in strings:
            value = get(name)
            out[name] = value if (value.__class__ is str and value and not value.isspace()) else to_string(value)
        for name in dates:
            value = get(name)
            out[name] = value.toordinal() - EPOCH_ORDINAL if value.__class__ is date else to_days(value)
        for name in stamps:
            out[name] = to_days(get(name))
        return complete(out, now_days, stage_field, stage_names, ages, texts)

    return project


def _text_match(derived: TextMatchField) -> Callable[[Any], bool]:
    needles = derived.needles
    if derived.op == "contains":
        def contains(value: Any) -> bool:
            if value is None:
                return False
            lowered = value.lower()
            for needle in needles:
                if needle in lowered:
                    return True
            return False
        return contains
    if derived.op == "starts_with":
        return lambda v: v is not None and v.lower().startswith(needles)
    if derived.op == "ends_with":
        return lambda v: v is not None and v.lower().endswith(needles)
    return lambda v: v is not None and v.lower() in needles


# ---------------------------------------------------------------- the Host: one per process
class BatonHost(Host):
    """A durable-rules Host without its background threads, bound to the process that made it.

    ``Host._run`` starts timer threads that dispatch actions on engine threads and do not survive
    ``fork()``; Baton uses no engine timers and collects every action synchronously, so they are
    never started: all work happens in the calling thread.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.thread = threading.get_ident()
        self.fired: list[tuple[str, list[int]]] = []
        self.registered: dict[str, str] = {}     # phase digest -> registered ruleset name
        super().__init__()

    def _run(self) -> None:
        """No dispatch or timer threads (see the class docstring)."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        """Every action only records (rule, fact indices); used by the ``host`` post path."""
        fired = self.fired

        def record_match(c: Any) -> None:
            matched = c.m if isinstance(c.m, list) else [c.m]     # a list when the rule has a cap
            fired.append((action_name, [m[INDEX_KEY] for m in matched]))
        return record_match

    def register(self, phase: Phase, kind: str) -> str:
        """The ruleset name of ``phase`` on this host, registering it once under a versioned name
        (durable-rules can neither re-register nor remove a ruleset name)."""
        name = self.registered.get(phase.digest)
        if name is None:
            name = f"baton_{kind}_{phase.digest}_{next(_SERIAL)}"
            definition = {rule: dict(body, run=rule) for rule, body in phase.definition.items()}
            self.set_rulesets({name: definition})
            self.registered[phase.digest] = name
        return name


_SERIAL = itertools.count(1)
_HOST: BatonHost | None = None
_HOST_LOCK = threading.Lock()


def process_host() -> BatonHost:
    """This process's Host, created on first use (never at import, so RQ's forked workers each
    build their own) and rebuilt when the pid changed since it was made (a fork)."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is None or _HOST.pid != os.getpid():
            _HOST = BatonHost()
        if _HOST.thread != threading.get_ident():
            raise DurableEngineError(
                "durable-rules is used from one thread only (concurrent posts crash it); this process's "
                "engine belongs to another thread: run one worker process per concurrent evaluation")
        return _HOST


# ---------------------------------------------------------------- registration probe
_PROBE = """
import json, sys
import durable_rules_engine
from rules.durable_engine import BatonHost, INDEX_KEY, SESSION, _drain
host = BatonHost()
definitions = json.load(sys.stdin)
host.set_rulesets(definitions)
for name in definitions:
    handle = host.get_ruleset(name)._handle
    code, state = durable_rules_engine.assert_facts(handle, json.dumps([{INDEX_KEY: 0}]))
    _drain(handle, state)
    durable_rules_engine.delete_state(handle, SESSION)
print("ok")
"""


def phase_definitions(ruleset: Ruleset) -> dict[str, dict[str, Any]]:
    """Every durable ruleset a Baton ruleset compiles to, by a descriptive name, with actions."""
    out: dict[str, dict[str, Any]] = {}
    for kind, rules in ruleset.kinds.items():
        plan = KindPlan(rules, ruleset.version)
        for label, phase in (("a", plan.phase_a), ("b", plan.phase_b)):
            if phase is not None:
                out[f"probe_{kind}_{label}"] = {rule: dict(body, run=rule) for rule, body in phase.definition.items()}
    return out


def probe_registration(definitions: Mapping[str, Any], timeout: float = 30.0) -> None:
    """Register ``definitions`` and post one fact in a throwaway subprocess, before this process does.

    durable-rules hangs at 100% CPU registering a ruleset of 513+ rules and can crash the process;
    an upload is checked here first. Raises :class:`DurableLimitError` on a hang, crash or error.
    """
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], input=json.dumps(definitions),
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DurableLimitError(f"durable-rules did not register the rules within {timeout:g} s "
                                f"(a ruleset too big for it?): split the rules file") from None
    if done.returncode != 0 or done.stdout.strip() != "ok":
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise DurableLimitError(f"durable-rules could not load the rules: {last}")


# ---------------------------------------------------------------- posting a batch
Matches = dict[str, list[int]]


class _Observed(Exception):
    """durable-rules said "already observed" for a fact of the batch."""


def _post_direct(host: BatonHost, name: str, payload: str) -> list[str]:
    """Assert the facts and run every action in this thread; the raw action messages (JSON)."""
    handle = host.get_ruleset(name)._handle
    code, state = durable_rules_engine.assert_facts(handle, payload)
    # Drain BEFORE deleting the session, whatever the code: deleting a session whose actions are
    # still pending is a segmentation fault (pinned in tests/rules/test_durable_quirks.py).
    messages = _drain(handle, state)
    durable_rules_engine.delete_state(handle, SESSION)
    if code == 2:
        raise _Observed()
    if code != 0:
        raise DurableEngineError(f"durable-rules refused the batch (code {code})")
    return messages


def _drain(handle: int, state: int) -> list[str]:
    messages: list[str] = []
    result = durable_rules_engine.start_action_for_state(handle, state)
    while result:
        messages.append(result[1])
        following = durable_rules_engine.complete_and_start_action(handle, state)
        result = (None, following) if following else None
    return messages


def careful_json(facts: list[dict[str, Any]]) -> str:
    """The facts as JSON that durable-rules reads correctly: floats in exponent notation get a
    fraction (``1.0e+20``), integers beyond 64 bits go as floats (durable-rules would clamp them)."""
    parts = []
    for fact in facts:
        items = ", ".join(f"{json.dumps(key)}: {_number_text(value)}" for key, value in fact.items())
        parts.append("{" + items + "}")
    return "[" + ", ".join(parts) + "]"


def _number_text(value: Any) -> str:
    if value.__class__ is int and not _INT64[0] <= value <= _INT64[1]:
        value = float(value)
    if value.__class__ is not float:
        return json.dumps(value, ensure_ascii=False)
    text = repr(value)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _parse(messages: list[str]) -> Matches:
    # An action message is {"rule":[{"m":{...fact...}}, ...]}: the rule name, then one fact per
    # match. Only INDEX_KEY is needed; strings inside facts are JSON-escaped, so the pattern
    # cannot match inside a value. json.loads of every fact would double the cost.
    matches: Matches = {}
    for message in messages:
        rule = message[2:message.index('"', 2)]
        matches.setdefault(rule, []).extend(map(int, _INDEX.findall(message)))
    return matches


def _post_host(host: BatonHost, name: str, facts: list[dict[str, Any]]) -> Matches:
    """The documented path (Host.assert_facts, actions via get_action): slower, same result."""
    del host.fired[:]
    try:
        state = host.assert_facts(name, facts)
    except MessageObservedException:
        raise _Observed() from None
    except MessageNotHandledException as error:
        raise DurableEngineError("durable-rules matched no rule for a fact (anchor missing)") from error
    finally:
        host.delete_state(name, SESSION)
    if state and "exception" in state:
        raise DurableEngineError(f"a durable-rules action failed: {state['exception']}")
    matches: Matches = {}
    for rule, indices in host.fired:
        matches.setdefault(rule, []).extend(indices)
    return matches


def match_batch(host: BatonHost, name: str, facts: list[dict[str, Any]], path: PostPath = "direct",
                careful: bool = False) -> Matches:
    """Rule name -> indices of the facts it matched, for one batch; verified against the anchor."""
    try:
        if careful:
            # Host.assert_facts would post json.dumps' text, which can crash the process here.
            matches = _parse(_post_direct(host, name, careful_json(facts)))
        elif path == "direct":
            matches = _parse(_post_direct(host, name, json.dumps(facts, ensure_ascii=False)))
        else:
            matches = _post_host(host, name, facts)
    except _Observed:
        if len(facts) == 1:
            raise DurableEngineError("durable-rules refused a single fact as already observed") from None
        # A spurious identity-hash collision: the two halves go into fresh sessions.
        half = len(facts) // 2
        matches = match_batch(host, name, facts[:half], path)
        for rule, indices in match_batch(host, name, facts[half:], path).items():
            matches.setdefault(rule, []).extend(indices)
        return matches
    seen = matches.get(ANCHOR, [])
    if len(seen) != len(facts) or set(seen) != {fact[INDEX_KEY] for fact in facts}:
        raise DurableEngineError(f"durable-rules saw {len(seen)} of {len(facts)} facts of a batch")
    return matches


# ---------------------------------------------------------------- the engine
class DurableEngine(Engine):
    """The engine of record: durable-rules decides which signals and stage rules match."""

    name = "durable"

    def __init__(self, ruleset: Ruleset, *, path: PostPath = "direct", batch_size: int = BATCH_SIZE) -> None:
        super().__init__(ruleset)
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{BATCH_SIZE}")
        self.path = path
        self.batch_size = batch_size
        self.plans = {kind: KindPlan(rules, ruleset.version) for kind, rules in ruleset.kinds.items()}

    def _plan(self, kind: str) -> KindPlan:
        try:
            return self.plans[kind]
        except KeyError:
            raise KeyError(f"ruleset {self.ruleset.name!r} has no rules for kind {kind!r}") from None

    def evaluate(self, kind: str, records: Sequence[Mapping[str, Any]], now: date) -> list[Decision]:
        plan = self._plan(kind)
        host = process_host()
        names = (host.register(plan.phase_a, kind),
                 host.register(plan.phase_b, kind) if plan.phase_b is not None else None)
        now_days = days_since_epoch(now)
        decisions: list[Decision] = []
        for start in range(0, len(records), self.batch_size):
            decisions.extend(self._batch(plan, host, names, records[start:start + self.batch_size], now, now_days))
        return decisions

    def _batch(self, plan: KindPlan, host: BatonHost, names: tuple[str, str | None],
               records: Sequence[Mapping[str, Any]], now: date, now_days: int) -> list[Decision]:
        ids = [record_id_of(record.get("id")) for record in records]
        states = [plan.project(record, now_days) for record in records]
        live = [i for i, state in enumerate(states) if not plan.builder.is_read_only(state)]
        masks, best, candidate = self._phase_a(plan, host, names[0], states, live)
        scores = {i: plan.score(masks.get(i, 0), states[i], now_days) for i in live}
        if names[1] is not None:
            self._phase_b(plan, host, names[1], states, best, scores, candidate)
        decisions: list[Decision] = []
        build, skip, stage_rules = plan.builder.build, plan.builder.skip, plan.rules.rules
        for i, state in enumerate(states):
            order = best.get(i)
            if order is None:
                decisions.append(skip(ids[i], state))
                continue
            score, contributions, groups = scores[i]
            if plan.score_field is not None:
                state[plan.score_field] = score
            decisions.append(build(ids[i], state, None if order < 0 else stage_rules[order], score,
                                   contributions, groups, now_days))
        return decisions

    def _phase_a(self, plan: KindPlan, host: BatonHost, name: str, states: list[dict[str, Any]],
                 live: list[int]) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        """Per record: signal mask, lowest matched rule order (-1: none), and lowest order of a
        score-reading rule it is a candidate for (only records that have one)."""
        best = dict.fromkeys(live, -1)
        masks: dict[int, int] = {}
        candidate: dict[int, int] = dict.fromkeys(live, plan.always_candidate) if plan.always_candidate >= 0 else {}
        phase = plan.phase_a
        if not live or len(phase.definition) == 1:       # nothing but the anchor: nothing to match
            return masks, best, candidate
        careful = any(AWKWARD in states[i] for i in live)
        matches = match_batch(host, name, [_fact(states[i], phase.fields, i) for i in live], self.path, careful)
        for rule, indices in matches.items():
            if rule in phase.signals:
                bit = 1 << phase.signals[rule]
                for i in indices:
                    masks[i] = masks.get(i, 0) | bit
            elif rule in phase.stage_rules:
                _lower(best, indices, phase.stage_rules[rule])
            elif rule in phase.candidates:
                order = phase.candidates[rule]
                for i in indices:
                    if candidate.get(i, order + 1) > order:
                        candidate[i] = order
        return masks, best, candidate

    def _phase_b(self, plan: KindPlan, host: BatonHost, name: str, states: list[dict[str, Any]],
                 best: dict[int, int], scores: dict[int, Any], candidate: dict[int, int]) -> None:
        """Score-reading rules, posted only for the records they could still decide."""
        assert plan.phase_b is not None and plan.score_field is not None
        open_ = [i for i, order in candidate.items() if best[i] < 0 or order < best[i]]
        if not open_:
            return
        facts = []
        for i in open_:
            states[i][plan.score_field] = scores[i][0]
            facts.append(_fact(states[i], plan.phase_b.fields, i))
        careful = any(AWKWARD in states[i] for i in open_)
        for rule, indices in match_batch(host, name, facts, self.path, careful).items():
            if rule in plan.phase_b.stage_rules:
                _lower(best, indices, plan.phase_b.stage_rules[rule])


def _lower(best: dict[int, int], indices: list[int], order: int) -> None:
    """Keep the lowest matched rule order per record: first hit by unique priority."""
    for i in indices:
        if best[i] < 0 or order < best[i]:
            best[i] = order


def _fact(state: Mapping[str, Any], fields: tuple[str, ...], index: int) -> dict[str, Any]:
    # Only what the rules read (JSON both ways is most of the cost); missing values are left
    # out: durable-rules has no null semantics Baton could rely on.
    fact = {key: state[key] for key in fields if state[key] is not None}
    fact[INDEX_KEY] = index
    return fact
