"""Parsing the parts of one kind: stages, transitions, scoring, gates and stage rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.condparse import ConditionParser
from rules.ir import (
    Action,
    All,
    Compare,
    Condition,
    Criterion,
    Decay,
    FieldSpec,
    Gate,
    Group,
    InSet,
    Loc,
    Not,
    Scoring,
    Signal,
    Stage,
    StageRule,
)
from rules.schema import Reader, suggest
from rules.yamlsafe import Node

CRMS = ("salesforce", "hubspot")
GATE_MODES = ("enforce", "advise", "auto")
MAX_RULES_PER_KIND = 400          # durable-rules fails at 512 rules per node: stay well below
_STAGE_KEYS = ("name", "probability", "read_only", "gated", "entry", "crm", "description")
_RULE_KEYS = ("id", "priority", "from", "when", "to", "action", "reason", "set", "description")
_GATE_KEYS = ("stage", "mode", "priority", "criteria", "advance_to", "description")
_DECAY_KEYS = ("mode", "since", "grace_days", "every_days", "points", "half_life_days")


@dataclass
class KindParts:
    """What the part parsers of one kind share."""

    kind: str
    reader: Reader
    fields: dict[str, FieldSpec]
    stage_field: str | None = None
    score_field: str | None = None
    conditions: ConditionParser = field(default=None)  # type: ignore[assignment]


def conjoin(first: Condition, rest: Condition | None) -> Condition:
    """``first AND rest`` as a flat All (the stage test first, so engines reject early)."""
    if rest is None:
        return first
    tail = rest.items if isinstance(rest, All) else (rest,)
    return All((first, *tail), first.loc)


def stage_test(stage_field: str, stages: tuple[str, ...], loc: Loc) -> Condition:
    if len(stages) == 1:
        return Compare(stage_field, "eq", stages[0], f"{stage_field} == {stages[0]!r}", loc)
    return InSet(stage_field, stages, False, f"{stage_field} in {list(stages)!r}", loc)


# ---------------------------------------------------------------- stages and transitions
def parse_stages(parts: KindParts, node: Node | None) -> tuple[Stage, ...]:
    if node is None:
        return ()
    reader = parts.reader
    stages: list[Stage] = []
    for item in reader.sequence(node, "`stages:`") or []:
        entries = reader.mapping(item, "a stage", _STAGE_KEYS, ("name",))
        if entries is None or "name" not in entries:
            continue
        name = reader.ident(entries["name"], "stage name")
        if name is None:
            continue
        if any(s.name == name for s in stages):
            reader.error(entries["name"].loc, f"stage {name!r} is declared twice", "")
            continue
        stages.append(Stage(
            name, len(stages), _optional(reader.number, entries, "probability", "probability", 0, 100),
            bool(_optional(reader.boolean, entries, "read_only", "read_only")),
            _optional(reader.boolean, entries, "gated", "gated") is not False,
            bool(_optional(reader.boolean, entries, "entry", "entry")) or not stages,
            _crm(reader, entries.get("crm")), item.loc))
    if not stages:
        reader.error(node.loc, "`stages:` is empty", "list the lifecycle stages in order")
    return tuple(stages)


def _optional(read: Any, entries: dict[str, Node], key: str, what: str, *args: Any) -> Any:
    return read(entries[key], what, *args) if key in entries else None


def _crm(reader: Reader, node: Node | None) -> dict[str, tuple[dict[str, str], ...]]:
    if node is None:
        return {}
    mapping: dict[str, tuple[dict[str, str], ...]] = {}
    for crm, child in (reader.mapping(node, "`crm:`", CRMS) or {}).items():
        alternatives = child.value if isinstance(child.value, list) else [child]
        found = []
        for alternative in alternatives:
            entries = reader.mapping(alternative, f"the {crm} values")
            if entries:
                texts = {key: reader.text(value, f"{crm} field {key!r}") for key, value in entries.items()}
                found.append({key: text for key, text in texts.items() if text is not None})
        mapping[crm] = tuple(found)
    return mapping


def stage_names(parts: KindParts, node: Node, stages: tuple[Stage, ...], what: str) -> list[str]:
    known = {s.name for s in stages}
    names = []
    for name, item in parts.reader.idents(node, what):
        if name not in known:
            parts.reader.error(item.loc, f"unknown stage {name!r}", suggest(name, known))
        else:
            names.append(name)
    return names


def parse_transitions(parts: KindParts, node: Node | None,
                      stages: tuple[Stage, ...]) -> frozenset[tuple[str, str]]:
    if node is None:
        return frozenset()
    pairs: set[tuple[str, str]] = set()
    for source, child in (parts.reader.mapping(node, "`transitions:`") or {}).items():
        sources = stage_names(parts, Node(source, child.key_loc or child.loc), stages, "stage")
        targets = stage_names(parts, child, stages, "stage")
        pairs.update((s, t) for s in sources for t in targets)
    return frozenset(pairs)


# ---------------------------------------------------------------- scoring
def parse_scoring(parts: KindParts, node: Node | None) -> Scoring | None:
    if node is None:
        return None
    reader = parts.reader
    entries = reader.mapping(node, "`scoring:`", ("field", "minimum", "maximum", "groups", "description"),
                             ("groups",))
    if entries is None:
        return None
    target = reader.ident(entries["field"], "score field") if "field" in entries else "score"
    if target is None:
        return None
    if parts.fields.get(target) is None or parts.fields[target].type != "number":
        where = entries["field"].loc if "field" in entries else node.loc
        reader.error(where, f"the score field {target!r} must be a declared number field",
                     "declare it under `fields:` as number")
    parts.score_field = target
    parts.conditions.forbidden = {target: "signals are what compute the score; compare it in stage rules"}
    minimum = _optional(reader.integer, entries, "minimum", "minimum")
    maximum = _optional(reader.integer, entries, "maximum", "maximum")
    groups: list[Group] = []
    seen: set[str] = set()
    for name, child in (reader.mapping(entries["groups"], "`groups:`") or {}).items() if "groups" in entries else ():
        group = _group(parts, name, child, seen)
        if group is not None:
            groups.append(group)
    parts.conditions.forbidden = {}
    return Scoring(target, tuple(groups), minimum or 0, maximum)


def _group(parts: KindParts, name: str, node: Node, seen: set[str]) -> Group | None:
    reader = parts.reader
    if reader.ident(Node(name, node.key_loc or node.loc), "group name") is None:
        return None
    entries = reader.mapping(node, f"group {name!r}", ("cap", "decay", "signals", "description"), ("signals",))
    if entries is None or "signals" not in entries:
        return None
    cap = _optional(reader.integer, entries, "cap", f"cap of {name!r}", 0)
    decay = _decay(parts, entries["decay"]) if "decay" in entries else None
    signals = []
    for item in reader.sequence(entries["signals"], f"signals of {name!r}") or []:
        signal = _signal(parts, name, item, seen)
        if signal is not None:
            signals.append(signal)
    return Group(name, tuple(signals), cap, decay, node.loc)


def _signal(parts: KindParts, group: str, node: Node, seen: set[str]) -> Signal | None:
    reader = parts.reader
    entries = reader.mapping(node, "a signal", ("id", "points", "when", "description"), ("id", "points", "when"))
    if entries is None or not {"id", "points", "when"} <= entries.keys():
        return None
    signal_id = reader.ident(entries["id"], "signal id")
    if signal_id in seen:
        reader.error(entries["id"].loc, f"signal id {signal_id!r} is used twice", "signal ids must be unique")
        return None
    points = reader.integer(entries["points"], "points")
    when = parts.conditions.parse(entries["when"], "`when:`")
    if signal_id is None or points is None or when is None:
        return None
    seen.add(signal_id)
    description = str(entries["description"].value) if "description" in entries else ""
    return Signal(signal_id, group, points, when, description, node.loc)


def _decay(parts: KindParts, node: Node) -> Decay | None:
    reader = parts.reader
    entries = reader.mapping(node, "`decay:`", _DECAY_KEYS, ("mode", "since"))
    if entries is None or not {"mode", "since"} <= entries.keys():
        return None
    mode = entries["mode"].value
    since = entries["since"].value
    spec = parts.fields.get(since) if isinstance(since, str) else None
    if spec is None or spec.type not in ("date", "datetime"):
        reader.error(entries["since"].loc, f"decay `since:` needs a date field; {since!r} is not one",
                     suggest(str(since), [n for n, f in parts.fields.items() if f.type in ("date", "datetime")]))
        return None
    grace = _optional(reader.integer, entries, "grace_days", "grace_days", 0) or 0
    if mode == "linear":
        needed = [k for k in ("every_days", "points") if k not in entries]
        if needed:
            reader.error(node.loc, f"linear decay needs {' and '.join(needed)}", "e.g. `points: 10, every_days: 30`")
            return None
        every = reader.integer(entries["every_days"], "every_days", 1)
        points = reader.integer(entries["points"], "points", 0)
        if every is None or points is None:
            return None
        return Decay("linear", str(since), grace, every, points, 0.0, node.loc)
    if mode == "half_life":
        if "half_life_days" not in entries:
            reader.error(node.loc, "half_life decay needs half_life_days", "e.g. `half_life_days: 60`")
            return None
        half = reader.number(entries["half_life_days"], "half_life_days", 1, 36500)
        return None if half is None else Decay("half_life", str(since), grace, 1, 0, float(half), node.loc)
    reader.error(entries["mode"].loc, f"unknown decay mode {mode!r}", suggest(str(mode), ("linear", "half_life")))
    return None


# ---------------------------------------------------------------- gates
def parse_gates(parts: KindParts, node: Node | None, stages: tuple[Stage, ...]) -> tuple[Gate, ...]:
    if node is None:
        return ()
    gates: list[Gate] = []
    for item in parts.reader.sequence(node, "`gates:`") or []:
        gate = _gate(parts, item, stages)
        if gate is not None:
            if any(g.stage == gate.stage for g in gates):
                parts.reader.error(item.loc, f"stage {gate.stage!r} has two gates", "merge their criteria")
                continue
            gates.append(gate)
    return tuple(gates)


def _gate(parts: KindParts, node: Node, stages: tuple[Stage, ...]) -> Gate | None:
    reader = parts.reader
    entries = reader.mapping(node, "a gate", _GATE_KEYS, ("stage", "mode", "priority", "criteria"))
    if entries is None or not {"stage", "mode", "priority", "criteria"} <= entries.keys():
        return None
    names = stage_names(parts, entries["stage"], stages, "gate stage")
    mode = entries["mode"].value
    if mode not in GATE_MODES:
        reader.error(entries["mode"].loc, f"unknown gate mode {mode!r}", suggest(str(mode), GATE_MODES))
    priority = reader.integer(entries["priority"], "priority")
    criteria = _criteria(parts, entries["criteria"])
    if not names or mode not in GATE_MODES or priority is None or not criteria:
        return None
    stage = next(s for s in stages if s.name == names[0])
    later = [s for s in stages if s.rank > stage.rank and s.gated and not s.read_only]
    advance_to = later[0].name if later else None
    if "advance_to" in entries:
        chosen = stage_names(parts, entries["advance_to"], stages, "advance_to")
        advance_to = chosen[0] if chosen else None
    if mode == "auto" and advance_to is None:
        reader.error(entries["mode"].loc, f"an auto gate on {stage.name!r} has no later stage to advance to",
                     "add `advance_to:` or use mode enforce/advise")
        return None
    checked_mode: Any = mode          # one of GATE_MODES (checked above)
    return Gate(stage.name, checked_mode, criteria, advance_to, tuple(s.name for s in later), priority, node.loc)


def _criteria(parts: KindParts, node: Node) -> tuple[Criterion, ...]:
    reader = parts.reader
    found: list[Criterion] = []
    items = reader.sequence(node, "`criteria:`")
    if items == []:
        reader.error(node.loc, "`criteria:` is empty", "list the exit criteria of the stage")
    for item in items or []:
        entries = reader.mapping(item, "a criterion", ("id", "when", "description"), ("id", "when"))
        if entries is None or not {"id", "when"} <= entries.keys():
            continue
        criterion_id = reader.ident(entries["id"], "criterion id")
        when = parts.conditions.parse(entries["when"], "`when:`")
        if criterion_id is not None and when is not None:
            description = str(entries["description"].value) if "description" in entries else ""
            found.append(Criterion(criterion_id, when, description, item.loc))
    return tuple(found) if len(found) == len(items or ()) else ()


def gate_rules(parts: KindParts, gate: Gate) -> list[StageRule]:
    """The stage rules a gate compiles to (see rules.ir, section 5)."""
    field_ = parts.stage_field or "stage"
    criteria = [c.when for c in gate.criteria]
    all_hold = criteria[0] if len(criteria) == 1 else All(tuple(criteria), gate.loc)
    made: list[StageRule] = []
    if gate.guards:
        past = stage_test(field_, gate.guards, gate.loc)
        advice = gate.mode == "advise"
        action = Action("gate_advice" if advice else "gate_revert", None if advice else gate.stage,
                        f"{gate.stage} gate not met", (), gate.stage)
        made.append(StageRule(f"{gate.stage}_gate_{'advice' if advice else 'revert'}", gate.priority, -1,
                              gate.guards, conjoin(past, Not(all_hold, gate.loc)), action,
                              f"records past {gate.stage} must meet its exit criteria", gate.loc))
    if gate.mode == "auto":
        here = stage_test(field_, (gate.stage,), gate.loc)
        action = Action("gate_advance", gate.advance_to, f"{gate.stage} exit criteria met", (), None)
        made.append(StageRule(f"{gate.stage}_gate_advance", gate.priority, -1, (gate.stage,),
                              conjoin(here, all_hold), action, f"advance when {gate.stage}'s criteria hold",
                              gate.loc))
    return made


# ---------------------------------------------------------------- stage rules
def parse_rules(parts: KindParts, node: Node | None, stages: tuple[Stage, ...], gates: tuple[Gate, ...],
                writes: dict[str, str]) -> tuple[StageRule, ...]:
    """User rules plus gate rules, in evaluation order (priority, then id)."""
    reader = parts.reader
    made: list[StageRule] = []
    if node is not None:
        if parts.stage_field is None:
            reader.error(node.loc, "`rules:` need `stages:`", "declare the stages of this kind")
            return ()
        for item in reader.sequence(node, "`rules:`") or []:
            rule = _rule(parts, item, stages, writes)
            if rule is not None:
                made.append(rule)
    for gate in gates:
        made.extend(gate_rules(parts, gate))
    seen: dict[str, StageRule] = {}
    for rule in made:
        if rule.id in seen:
            reader.error(rule.loc, f"rule id {rule.id!r} is used twice (also at line {seen[rule.id].loc.line})",
                         "rule ids must be unique; gates create ids STAGE_gate_revert/advice/advance")
        seen[rule.id] = rule
    if len(made) > MAX_RULES_PER_KIND:
        reader.error(node.loc if node else stages[0].loc, f"more than {MAX_RULES_PER_KIND} rules for one kind",
                     "durable-rules breaks above ~500 rules per node; merge rules with `in:`")
    ordered = sorted(made, key=lambda r: (r.priority, r.id))
    return tuple(StageRule(r.id, r.priority, i, r.from_stages, r.when, r.action, r.description, r.loc)
                 for i, r in enumerate(ordered))


def _rule(parts: KindParts, node: Node, stages: tuple[Stage, ...], writes: dict[str, str]) -> StageRule | None:
    reader = parts.reader
    entries = reader.mapping(node, "a rule", _RULE_KEYS, ("id", "priority", "from"))
    if entries is None or not {"id", "priority", "from"} <= entries.keys():
        return None
    before = len(reader.problems)
    rule_id = reader.ident(entries["id"], "rule id")
    priority = reader.integer(entries["priority"], "priority")
    sources = tuple(stage_names(parts, entries["from"], stages, "`from:` stage"))
    when = parts.conditions.parse(entries["when"], "`when:`") if "when" in entries else None
    action_name = entries["action"].value if "action" in entries else "move"
    if action_name not in ("move", "recycle"):
        reader.error(entries["action"].loc, f"unknown action {action_name!r}", suggest(str(action_name), ("move", "recycle")))
    target = None
    if "to" in entries:
        names = stage_names(parts, entries["to"], stages, "`to:` stage")
        target = names[0] if names else None
    elif action_name == "move":
        reader.error(node.loc, "a move rule needs `to:`", "name the stage the record moves to")
    extra = _set_fields(parts, entries.get("set"), writes)
    if len(reader.problems) > before or rule_id is None or priority is None:
        return None
    reason = _text_or(entries, "reason", "")
    if not reason:
        reason = _text_or(entries, "description", rule_id.replace("_", " "))
    kind = "recycle" if action_name == "recycle" else "transition"
    action = Action(kind, target, reason, extra)  # type: ignore[arg-type]
    return StageRule(rule_id, priority, -1, sources, conjoin(stage_test(parts.stage_field or "stage", sources,
                                                                        entries["from"].loc), when),
                     action, _text_or(entries, "description", ""), node.loc)


def _text_or(entries: dict[str, Node], key: str, default: str) -> str:
    node = entries.get(key)
    if node is None or node.value is None:
        return default
    return node.value if isinstance(node.value, str) else (node.text or str(node.value))


def _set_fields(parts: KindParts, node: Node | None, writes: dict[str, str]) -> tuple[tuple[str, Any], ...]:
    if node is None:
        return ()
    reader = parts.reader
    managed = {parts.stage_field, parts.score_field, *writes.values()}
    found: list[tuple[str, Any]] = []
    for name, child in (reader.mapping(node, "`set:`") or {}).items():
        loc = child.key_loc or child.loc
        spec = parts.fields.get(name)
        if spec is None:
            reader.error(loc, f"unknown field {name!r}", suggest(name, parts.fields))
        elif name in managed:
            reader.error(loc, f"{name!r} is set by Baton itself", "remove it from `set:`")
        elif spec.type in ("date", "datetime"):
            reader.error(loc, f"rules cannot set the date field {name!r}", "set text, numbers or true/false")
        elif child.value is None:
            found.append((name, None))
        else:
            value = parts.conditions.literal(child, spec, name)
            if value is not None:
                found.append((name, value))
    return tuple(found)
