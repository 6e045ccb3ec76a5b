"""The compiled, typed intermediate form (IR) of a rules file: what every engine consumes.

A rules file (YAML) is parsed, validated and compiled into a :class:`Ruleset`. Engines never see
YAML: they see these frozen dataclasses. Everything below is normative; an engine that follows it
decides exactly like the reference (the generated Python evaluator in :mod:`rules.pyengine`).

1. Records and normalisation (shared by all engines: :func:`rules.normalise.normaliser`)
   An input record is a mapping of canonical field names (see :class:`FieldSpec`) to raw values,
   plus ``"id"`` (the CRM id, a string). For each evaluation Baton passes ``now`` (a
   ``datetime.date``): it is never read from the wall clock, so evaluation is deterministic.
   Normalisation yields a dict holding EVERY declared field of the kind and every derived field,
   with ``None`` meaning "missing". Field names never include ``id``/``sid`` (reserved by the parser).
   - ``number``: int/float (not bool) kept (NaN/inf -> missing); a string that parses as a decimal
     number (``"12"``, ``" 3.5 "``) becomes that number; anything else -> missing. Integral
     values become ``int``.
   - ``bool``: True/False; strings ``true/false/yes/no/1/0`` (any case) and ints 0/1; else missing.
   - ``string``: str kept as is (an empty or all-blank string -> missing); int/float -> ``str()``;
     else missing.
   - ``date`` and ``datetime``: INTEGER DAYS SINCE 1970-01-01 (``date.toordinal() - 719163``),
     computed by Baton. Accepted: ``date``, ``datetime`` (its UTC calendar date; naive = UTC), ISO
     strings ``YYYY-M-D`` optionally followed by ``T``/space and a time; else missing. Date
     literals in rules are compiled to the same integer.
   - Derived fields (:class:`AgeField`, :class:`TextMatchField`) are computed during normalisation,
     so engines without regexes or date arithmetic can evaluate every condition:
     ``AgeField``: ``now_days - source_days`` (None if the source is missing);
     ``TextMatchField``: True if the lower-cased source string contains / starts with / ends with /
     equals any of the (lower-cased) needles, False otherwise, including when the source is missing.
   - The kind's ``stage_field`` holds a canonical stage name; an unknown stage name -> missing.

2. Conditions (:data:`Condition`): a tree of :class:`All`, :class:`AnyOf`, :class:`Not` over leaves
   :class:`Compare` (eq ne lt le gt ge), :class:`InSet` (in / not_in) and :class:`Exists`
   (exists / missing). Literals always have the field's normalised type (validated). Missing values:
   eq, lt, le, gt, ge and in are FALSE on a missing field; ne and not_in are TRUE on a missing field
   (so "not equal" compiles for durable-rules as ``$nex OR $neq``). ``Not`` is plain boolean negation
   of its child under these rules; :func:`to_nnf` pushes it to the leaves (``not (x < 5)`` becomes
   ``x missing OR x >= 5``), giving a Not-free tree for engines without negation. All/AnyOf are
   never empty. Field references may name derived fields.

3. Score (only if the kind has :class:`Scoring`): every :class:`Signal` whose condition holds
   contributes its ``points`` (ALL matching signals count, not the first). Per :class:`Group`:
   ``raw`` = sum of its matched signals' points; ``capped`` = min(raw, cap) if cap is set;
   decay (if set, and the group's ``since_field`` age ``a = now_days - since`` is known and
   ``a > grace_days``; ``d = a - grace_days``): ``linear``: ``capped - points_per_period *
   (d // period_days)``, not below 0 (only if capped > 0; negative subtotals are not decayed);
   ``half_life``: ``capped * 0.5 ** (d / half_life_days)``. Score = sum of decayed group values,
   clamped to [minimum, maximum] (maximum optional), then rounded half up to an int
   (``floor(x + 0.5)``). The score is stored into the normalised record under
   ``Scoring.field`` (replacing the value read from the CRM) BEFORE the stage rules run, so stage
   rules may reference the computed score. Signal conditions never reference the score field.
   :func:`rules.scoring.compute_score` implements this arithmetic for every engine.

4. Stage decision: ``KindRules.rules`` is a tuple of :class:`StageRule` sorted by ``order`` (unique,
   0-based; derived from declared priority, lower first, ties only between provably disjoint or
   same-outcome rules, broken by rule id). The FIRST rule (by order) whose ``when`` holds decides;
   one decision per record. ``when`` already includes the from-stage test. If none holds: decision
   kind ``none`` (stage unchanged, the score still written). A record whose current stage is
   ``read_only`` (e.g. a converted Salesforce lead) gets kind ``skip`` and no fields to set.
   Action kinds: ``transition`` (move to ``to_stage``); ``recycle`` (move to ``to_stage``, usually
   nurturing, ``recycle_count`` = (current or 0) + 1 and ``recycle_reason`` = reason); gate actions
   generated from :class:`Gate` (see 5).

5. Gates (:class:`Gate`): exit criteria of ``stage``; they guard every stage ranked after it that
   is ``gated`` and not ``read_only`` (closed_lost is not gated): ``Gate.guards``. Modes, compiled to ordinary StageRules with the gate's
   priority: ``enforce``: a record in a guarded stage while any criterion fails is reverted to the
   gate's stage (``gate_revert``); ``advise``: the stage stays, the kind's ``violation_field`` gets
   the text of the missing criteria (``gate_advice``); ``auto``: a record IN the gate's stage whose
   criteria all hold advances to ``advance_to`` (``gate_advance``), and a move past the unmet gate
   is reverted as in enforce. Missing criteria = ids of the gate's criteria whose condition is false,
   in declared order. The probability always follows the final stage (``Stage.probability``).

6. Decision (:class:`rules.engine.Decision`): record id, kind, from/to stage, rule id, ruleset
   version (content hash of the rules file), reason, score and per-signal contributions, group
   subtotals, probability, the Baton-owned fields to set (desired values: the pipeline writes only
   those that differ from the CRM), the conditions that held with their values (explanations, from
   the Python evaluator's ``explain``) and the missing gate criteria.
   :class:`rules.decide.DecisionBuilder` turns "record + first matching rule + score" into the
   Decision for every engine (the Python engine's generated batch code mirrors it, and tests
   check that both agree).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, TypeAlias

FieldType = Literal["number", "bool", "string", "date", "datetime"]
CompareOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
Literal_: TypeAlias = bool | int | float | str
ActionKind = Literal["transition", "recycle", "gate_revert", "gate_advice", "gate_advance"]
GateMode = Literal["enforce", "advise", "auto"]
DecayMode = Literal["linear", "half_life"]
TextOp = Literal["contains", "starts_with", "ends_with", "equals"]

#: Identifiers (kinds, fields, stages, rule ids, signal ids) must match this; the generated Python
#: evaluator relies on it (an identifier can never carry code into generated source).
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Derived field names use a double underscore, which declared fields cannot contain.
DERIVED_SEPARATOR = "__"
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NEGATED_OP: dict[str, str] = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le"}


def days_since_epoch(day: date) -> int:
    """The integer day number Baton uses for dates everywhere (1970-01-01 is 0)."""
    return day.toordinal() - EPOCH_ORDINAL


def date_from_days(days: int) -> date:
    return date.fromordinal(days + EPOCH_ORDINAL)


@dataclass(frozen=True, slots=True)
class Loc:
    """Where something was written in the rules file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_LOC = Loc("<generated>", 0, 0)


# ---------------------------------------------------------------- conditions
@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: CompareOp
    value: Literal_
    label: str = ""          # readable source form, e.g. "days_since(last_activity_date) > 30"
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class InSet:
    field: str
    values: tuple[Literal_, ...]
    negate: bool = False     # True: not_in
    label: str = ""
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Exists:
    field: str
    negate: bool = False     # True: "missing"
    label: str = ""
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition
    loc: Loc = NO_LOC


Leaf: TypeAlias = Compare | InSet | Exists
Condition: TypeAlias = Compare | InSet | Exists | All | AnyOf | Not


def to_nnf(cond: Condition, negate: bool = False) -> Condition:
    """The same condition without ``Not`` (negation pushed to the leaves, missing-aware)."""
    if isinstance(cond, Not):
        return to_nnf(cond.item, not negate)
    if isinstance(cond, (All, AnyOf)):
        items = tuple(to_nnf(item, negate) for item in cond.items)
        flip = negate
        return (AnyOf if (isinstance(cond, All) == flip) else All)(items, cond.loc)
    if not negate:
        return cond
    label = f"not ({cond.label})" if cond.label else ""
    if isinstance(cond, Exists):
        return Exists(cond.field, not cond.negate, label, cond.loc)
    if isinstance(cond, InSet):
        return InSet(cond.field, cond.values, not cond.negate, label, cond.loc)
    negated = Compare(cond.field, NEGATED_OP[cond.op], cond.value, label, cond.loc)  # type: ignore[arg-type]
    if cond.op in ("eq", "ne"):
        return negated       # ne already holds on missing; eq already fails on missing
    return AnyOf((Exists(cond.field, True, label, cond.loc), negated), cond.loc)


def leaves(cond: Condition) -> list[Leaf]:
    """Every leaf of a condition, depth first."""
    if isinstance(cond, Not):
        return leaves(cond.item)
    if isinstance(cond, (All, AnyOf)):
        return [leaf for item in cond.items for leaf in leaves(item)]
    return [cond]


def fields_of(cond: Condition) -> set[str]:
    return {leaf.field for leaf in leaves(cond)}


# ---------------------------------------------------------------- fields
@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    values: tuple[str, ...] | None = None   # allowed values of a string field, if declared
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class AgeField:
    """Derived number: days from ``source`` (a date field) to ``now``; None if source missing."""

    name: str
    source: str


@dataclass(frozen=True, slots=True)
class TextMatchField:
    """Derived bool: the lower-cased ``source`` string <op> any of ``needles`` (lower-case)."""

    name: str
    source: str
    op: TextOp
    needles: tuple[str, ...]


DerivedField: TypeAlias = AgeField | TextMatchField


# ---------------------------------------------------------------- scoring
@dataclass(frozen=True, slots=True)
class Signal:
    id: str
    group: str
    points: int
    when: Condition
    description: str = ""
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Decay:
    mode: DecayMode
    since_field: str                 # a date field; its age (days before now) drives the decay
    grace_days: int = 0
    period_days: int = 1             # linear: points lost per full period after the grace days
    points_per_period: int = 0
    half_life_days: float = 0.0      # half_life: value halves every half_life_days
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    signals: tuple[Signal, ...]
    cap: int | None = None
    decay: Decay | None = None
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Scoring:
    field: str                       # where the score goes (a number field, e.g. "score")
    groups: tuple[Group, ...]
    minimum: int = 0
    maximum: int | None = None

    @property
    def signals(self) -> tuple[Signal, ...]:
        return tuple(signal for group in self.groups for signal in group.signals)


# ---------------------------------------------------------------- stages, rules, gates
@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    rank: int                        # position in the declared forward order (0-based)
    probability: float | None = None  # percent 0-100, written to the probability field
    read_only: bool = False          # records here are never changed (e.g. converted leads)
    gated: bool = True               # False: gates do not guard this stage (e.g. closed_lost)
    entry: bool = False              # records may start here (the first stage always is an entry)
    # CRM name -> alternatives of {CRM field: value}; the first alternative is the one written.
    crm: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    to_stage: str | None             # None: stay in the current stage
    reason: str = ""
    set_fields: tuple[tuple[str, Literal_ | None], ...] = ()   # extra fields to set (literals)
    gate_stage: str | None = None    # for gate actions: the gate whose criteria are reported


@dataclass(frozen=True, slots=True)
class StageRule:
    id: str
    priority: int                    # as declared (lower runs first)
    order: int                       # unique evaluation position, 0-based: use this, not priority
    from_stages: tuple[str, ...]
    when: Condition                  # includes the from-stage test, conjunct first
    action: Action
    description: str = ""
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    when: Condition
    description: str = ""
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class Gate:
    stage: str
    mode: GateMode
    criteria: tuple[Criterion, ...]
    advance_to: str | None           # the next stage (auto mode moves there)
    guards: tuple[str, ...]          # stages that count as "past" this gate
    priority: int = 0
    loc: Loc = NO_LOC


@dataclass(frozen=True, slots=True)
class KindRules:
    kind: str                        # "lead", "opportunity", "account"
    fields: dict[str, FieldSpec]
    derived: tuple[DerivedField, ...]
    stage_field: str | None          # canonical field holding the stage (usually "stage")
    stages: tuple[Stage, ...]        # in declared forward order
    transitions: frozenset[tuple[str, str]]
    scoring: Scoring | None
    rules: tuple[StageRule, ...]     # sorted by order; gate rules included
    gates: tuple[Gate, ...]
    probability_field: str | None = None
    violation_field: str | None = None     # advise mode writes the missing criteria here
    stage_changed_field: str | None = None  # set to now when Baton changes the stage
    recycle_count_field: str | None = None
    recycle_reason_field: str | None = None

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    def gate(self, stage: str) -> Gate:
        for gate in self.gates:
            if gate.stage == stage:
                return gate
        raise KeyError(stage)


@dataclass(frozen=True, slots=True)
class Ruleset:
    name: str
    version: str                     # content hash of the rules file ("sha256:" + 16 hex digits)
    source: str                      # file path it came from
    thresholds: dict[str, float]
    kinds: dict[str, KindRules]

    def kind(self, name: str) -> KindRules:
        try:
            return self.kinds[name]
        except KeyError:
            raise KeyError(f"ruleset {self.name!r} has no rules for kind {name!r}") from None
