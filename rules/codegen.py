"""Generates the Python source of the fast evaluator of one kind from its validated IR.

Safety: only identifiers that matched :data:`rules.ir.IDENTIFIER` (checked again here) and literals
rendered with ``repr()`` of plain ``bool``/``int``/``float``/``str`` values reach the source; sets,
helpers and needles are passed in the namespace, never as text. So no text of a rules file can
become code. The generated function follows :mod:`rules.ir` exactly; tests cross-check it against
the interpreter in :mod:`rules.conditions`.
"""
from __future__ import annotations

import math
import re
from typing import Any

from rules.ir import (
    AgeField,
    All,
    AnyOf,
    Compare,
    Condition,
    Exists,
    InSet,
    KindRules,
    Not,
    StageRule,
    TextMatchField,
    fields_of,
    leaves,
)
from rules.normalise import to_bool, to_days, to_number, to_string

_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,80}$")
_FAST_CLASS = {"number": "int", "bool": "bool", "date": "_date"}
_SLOW = {"number": "_number", "bool": "_bool", "string": "_string", "date": "_days", "datetime": "_days"}
_OPS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _var(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise ValueError(f"unsafe identifier {name!r} reached the code generator")
    return "f_" + name


def _literal(value: Any) -> str:
    if type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
        return repr(value)
    raise ValueError(f"unsupported literal {value!r} reached the code generator")


class KindCodegen:
    """Source text plus the namespace it runs in, for one kind."""

    def __init__(self, rules: KindRules) -> None:
        self.rules = rules
        self.namespace: dict[str, Any] = {
            "_number": to_number, "_bool": to_bool, "_string": to_string, "_days": to_days,
            "_floor": math.floor, "str": str, "int": int, "bool": bool, "tuple": tuple,
        }
        from datetime import date
        self.namespace["_date"] = date
        self.lines: list[str] = []
        self.base = 0                 # extra indentation (the batch loop body sits two levels in)
        self.derived = {d.name: d for d in rules.derived}

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    # ------------------------------------------------------------ conditions
    def condition(self, cond: Condition) -> str:
        if isinstance(cond, All):
            return "(" + " and ".join(self.condition(item) for item in cond.items) + ")"
        if isinstance(cond, AnyOf):
            return "(" + " or ".join(self.condition(item) for item in cond.items) + ")"
        if isinstance(cond, Not):
            return f"(not {self.condition(cond.item)})"
        var = _var(cond.field)
        if isinstance(cond, Exists):
            return f"({var} is {'' if cond.negate else 'not '}None)"
        if isinstance(cond, InSet):
            for value in cond.values:
                _literal(value)
            return f"({var} {'not in' if cond.negate else 'in'} {self.constant(frozenset(cond.values))})"
        literal = _literal(cond.value)
        if type(cond.value) is bool and cond.op in ("eq", "ne"):
            # bool literals only meet bool fields (validated), whose values are the bool singletons
            return f"({var} is {'' if cond.op == 'eq' else 'not '}{literal})"
        if cond.op in ("eq", "ne"):
            return f"({var} {_OPS[cond.op]} {literal})"
        return f"({var} is not None and {var} {_OPS[cond.op]} {literal})"

    # ------------------------------------------------------------ sections
    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * (indent + self.base) + line)

    def upfront_fields(self) -> list[str]:
        """Fields (declared or derived) needed before the stage rules: stage, count, scoring."""
        rules = self.rules
        names = [rules.stage_field or "", rules.recycle_count_field or ""]
        if rules.scoring is not None:
            names += [g.decay.since_field for g in rules.scoring.groups if g.decay is not None]
            names += [leaf.field for s in rules.scoring.signals for leaf in leaves(s.when)]
        return [name for name in dict.fromkeys(names) if name]

    def need(self, name: str, indent: int, done: set[str]) -> None:
        """Emit the normalisation of a declared or derived field unless ``done`` has it already."""
        if name in done:
            return
        done.add(name)
        derived = self.derived.get(name)
        if derived is not None:
            self.need(derived.source, indent, done)
            self.emit_derived(derived, indent, done)
            return
        spec = self.rules.fields[name]
        var = _var(name)
        self.emit(f"v = g({_literal(name)})", indent)
        if name == self.rules.stage_field:
            stages = self.constant(frozenset(self.rules.stage_names))
            self.emit(f"{var} = v if (v.__class__ is str and v in {stages}) else None", indent)
        elif spec.type == "string":
            self.emit(f"{var} = v if (v.__class__ is str and v and not v.isspace()) else "
                      f"(None if v is None else _string(v))", indent)
        elif spec.type == "date":
            self.emit(f"{var} = v.toordinal() - 719163 if v.__class__ is _date else "
                      f"(None if v is None else _days(v))", indent)
        elif spec.type in _FAST_CLASS:
            self.emit(f"{var} = v if v.__class__ is {_FAST_CLASS[spec.type]} else "
                      f"(None if v is None else {_SLOW[spec.type]}(v))", indent)
        else:
            self.emit(f"{var} = None if v is None else {_SLOW[spec.type]}(v)", indent)

    def emit_derived(self, derived: Any, indent: int, done: set[str]) -> None:
        var, source = _var(derived.name), _var(derived.source)
        if isinstance(derived, AgeField):
            self.emit(f"{var} = None if {source} is None else now_days - {source}", indent)
            return
        lowered = "lw_" + source
        if lowered not in done:
            done.add(lowered)
            self.emit(f"{lowered} = None if {source} is None else {source}.lower()", indent)
        self.emit(f"{var} = False if {lowered} is None else {self.text_test(derived, lowered)}", indent)

    def normalisation(self) -> set[str]:
        done: set[str] = set()
        for name in self.upfront_fields():
            self.need(name, 1, done)
        return done

    def text_test(self, derived: TextMatchField, text: str) -> str:
        """Inline test of a lower-cased string against needles (repr()-quoted literals only)."""
        if derived.op == "contains":
            return "(" + " or ".join(f"{_literal(n)} in {text}" for n in derived.needles) + ")"
        if derived.op == "equals":
            return f"({text} in {self.constant(frozenset(derived.needles))})"
        method = "startswith" if derived.op == "starts_with" else "endswith"
        return f"{text}.{method}({self.constant(tuple(derived.needles))})"

    def scoring(self) -> None:
        scoring = self.rules.scoring
        if scoring is None:
            self.emit("score = None; cs = (); gs = ()")
            return
        self.emit("c = 0")
        totals = []
        bit = 1
        for index, group in enumerate(scoring.groups):
            self.emit(f"s{index} = 0")
            for signal in group.signals:
                self.emit(f"if {self.condition(signal.when)}:")
                self.emit(f"s{index} += {_literal(signal.points)}; c |= {bit}", 2)
                bit <<= 1
            capped = f"s{index}" if group.cap is None else f"(s{index} if s{index} < {group.cap} else {group.cap})"
            self.emit(f"t{index} = {capped}")
            self.decay(index, group)
            totals.append(f"d{index}")
        self.emit("total = 0" + "".join(f" + {t}" for t in totals))
        self.emit(f"if total < {_literal(scoring.minimum)}: total = {_literal(scoring.minimum)}")
        if scoring.maximum is not None:
            self.emit(f"if total > {_literal(scoring.maximum)}: total = {_literal(scoring.maximum)}")
        self.emit("score = _floor(total + 0.5)")
        self.emit(f"{_var(scoring.field)} = score")
        self.emit("cs = _contributions_cache.get(c)")
        self.emit("if cs is None: cs = _contributions(c)")
        self.emit("key = (" + "".join(f"s{i}, t{i}, d{i}, " for i in range(len(scoring.groups))) + ")")
        self.emit("gs = _groups_cache.get(key)")
        self.emit("if gs is None: gs = _groups(key)")

    def decay(self, index: int, group: Any) -> None:
        decay = group.decay
        self.emit(f"d{index} = t{index}")
        if decay is None:
            return
        since = _var(decay.since_field)
        self.emit(f"if t{index} > 0 and {since} is not None:")
        self.emit(f"o = now_days - {since} - {_literal(decay.grace_days)}", 2)
        self.emit("if o > 0:", 2)
        if decay.mode == "linear":
            self.emit(f"d{index} = t{index} - {_literal(decay.points_per_period)} * (o // "
                      f"{_literal(decay.period_days)})", 3)
            self.emit(f"if d{index} < 0: d{index} = 0", 3)
        else:
            self.emit(f"d{index} = t{index} * 0.5 ** (o / {_literal(decay.half_life_days)})", 3)

    def stage_rules(self, done: set[str]) -> None:
        """First matching rule, dispatched on the stage (only that stage's rules are tested);
        each branch finishes its decision in place."""
        rules = self.rules
        stage_var = _var(rules.stage_field) if rules.stage_field else None
        keyword = "if"
        for stage in rules.stage_names if stage_var else ():
            candidates = [rule for rule in rules.rules if stage in rule.from_stages]
            if not candidates:
                continue
            self.emit(f"{keyword} {stage_var} == {_literal(stage)}:")
            keyword = "elif"
            block_done = set(done)
            for field in self.advice_fields():
                self.need(field, 2, block_done)
            for rule in candidates:
                for field in fields_of(rule.when):
                    self.need(field, 2, block_done)
                if rule.action.gate_stage is not None:
                    for criterion in rules.gate(rule.action.gate_stage).criteria:
                        for field in fields_of(criterion.when):
                            self.need(field, 2, block_done)
            for index, rule in enumerate(candidates):
                condition = _after_stage(rule)
                test = "True" if condition is None else self.condition(condition)
                self.emit(f"{'if' if index == 0 else 'elif'} {test}:", 2)
                self.finish(rule, 3, stage)
            self.emit("else:", 2)
            self.finish(None, 3, stage)
        if keyword == "if":
            self.finish(None, 1)
            return
        self.emit("else:")
        self.finish(None, 2)

    def finish(self, rule: StageRule | None, indent: int, known: str | None = None) -> None:
        """Append the Decision of ``rule`` (None: no rule matched). Mirrors DecisionBuilder.build.

        ``known``: the current stage when the code sits in that stage's block, so the target,
        probability and "stage changed" are constants here.
        """
        rules = self.rules
        action = rule.action if rule is not None else None
        kind = "none" if action is None else action.kind
        target = None if action is None else action.to_stage
        if known is None:
            stage = _var(rules.stage_field) if rules.stage_field else "None"
            to, probability, changed = stage if target is None else _literal(target), "p", None
            self.emit(f"p = {self.constant({s.name: s.probability for s in rules.stages})}.get({to})", indent)
        else:
            stage = _literal(known)
            final = known if target is None else target
            to, changed = _literal(final), final != known
            probability = _literal_or_none(rules.stage(final).probability)
        reason = _literal("" if action is None else action.reason)
        missing = "()"
        if action is not None and action.gate_stage is not None:
            self.emit("m = []", indent)
            for criterion in rules.gate(action.gate_stage).criteria:
                self.emit(f"if not {self.condition(criterion.when)}: m.append({_literal(criterion.id)})", indent)
            self.emit(f"reason = {reason} + ': missing ' + ', '.join(m) if m else {reason}", indent)
            reason, missing = "reason", "tuple(m)"
        advice = self.advice(final if known is not None else None, kind, changed, indent)
        entries = self.field_entries(kind, to, probability, stage, changed, reason, known is None, advice)
        fields = "{" + ", ".join(f"{_literal(name)}: {value}" for name, value in entries) + "}"
        if known is None:
            self.emit(f"fields = {fields}", indent)
            if rules.stage_field is not None:
                self.emit(f"if {to} is not None: fields[{_literal(rules.stage_field)}] = {to}", indent)
            if rules.probability_field is not None:
                self.emit(f"if p is not None: fields[{_literal(rules.probability_field)}] = p", indent)
            if rules.stage_changed_field is not None:
                self.emit(f"if {to} != {stage}: fields[{_literal(rules.stage_changed_field)}] = today", indent)
            fields = "fields"
        if action is not None and action.set_fields:
            fields = f"{{**{fields}, **{self.constant(dict(action.set_fields))}}}"
        rule_id = "None" if rule is None else _literal(rule.id)
        self.emit(f"append(_Decision(rid, {_literal(kind)}, {stage}, {to}, {rule_id}, _version, {reason}, score, "
                  f"cs, gs, {probability}, {fields}, {missing}))", indent)

    def advice_rules(self) -> list[StageRule]:
        if self.rules.violation_field is None:
            return []
        return [r for r in self.rules.rules if r.action.kind == "gate_advice" and r.action.gate_stage]

    def advice_fields(self) -> list[str]:
        """Fields the advise gates' criteria read (a move may land in a stage such a gate guards)."""
        return list(dict.fromkeys(field for rule in self.advice_rules()
                                  for criterion in self.rules.gate(rule.action.gate_stage or "").criteria
                                  for field in fields_of(criterion.when)))

    def advice(self, final: str | None, kind: str, changed: bool | None, indent: int) -> str:
        """Emit the advice recorded when a move lands in ``final`` (mirrors DecisionBuilder._advice_at);
        returns the expression holding it."""
        if final is None or not changed or kind == "gate_advice":
            return "None"
        guarding = [r for r in self.advice_rules() if final in self.rules.gate(r.action.gate_stage or "").guards]
        if not guarding:
            return "None"
        self.emit("adv = None", indent)
        for rule in guarding:
            self.emit("if adv is None:", indent)
            self.emit("am = []", indent + 1)
            for criterion in self.rules.gate(rule.action.gate_stage or "").criteria:
                self.emit(f"if not {self.condition(criterion.when)}: am.append({_literal(criterion.id)})", indent + 1)
            self.emit(f"if am: adv = {_literal(rule.action.reason)} + ': missing ' + ', '.join(am)", indent + 1)
        return "adv"

    def field_entries(self, kind: str, to: str, probability: str, stage: str, changed: bool | None,
                      reason: str, dynamic: bool, advice: str = "None") -> list[tuple[str, str]]:
        """(field, expression) pairs of the fields to set, in DecisionBuilder's order.

        With ``dynamic`` the stage, probability and stage-changed entries are left to runtime checks.
        """
        rules = self.rules
        entries: list[tuple[str, str]] = []
        if rules.stage_field is not None and not dynamic:
            entries.append((rules.stage_field, to))
        if rules.scoring is not None:
            entries.append((rules.scoring.field, "score"))
        if rules.probability_field is not None and not dynamic and probability != "None":
            entries.append((rules.probability_field, probability))
        if rules.violation_field is not None:
            entries.append((rules.violation_field, reason if kind == "gate_advice" else advice))
        if rules.stage_changed_field is not None and changed:
            entries.append((rules.stage_changed_field, "today"))
        if kind == "recycle":
            if rules.recycle_count_field is not None:
                entries.append((rules.recycle_count_field, f"({_var(rules.recycle_count_field)} or 0) + 1"))
            if rules.recycle_reason_field is not None:
                entries.append((rules.recycle_reason_field, reason))
        return entries

    def source(self) -> str:
        rules = self.rules
        self.lines = ["def evaluate_batch(records, now_days, today):", "    out = []",
                      "    append = out.append", "    for rec in records:"]
        self.base = 1
        self.emit("g = rec.get")
        self.emit("rid = g('id')")
        self.emit("if rid.__class__ is not str: rid = _record_id(rid)")
        done = self.normalisation()
        stage = _var(rules.stage_field) if rules.stage_field else "None"
        read_only = [s.name for s in rules.stages if s.read_only]
        if read_only:
            self.emit(f"if {stage} in {self.constant(frozenset(read_only))}:")
            self.emit(f"append(_skip(rid, {stage}))", 2)
            self.emit("continue", 2)
        self.scoring()
        if rules.scoring is not None:
            done.add(rules.scoring.field)        # the computed score, never the CRM's value
        self.stage_rules(done)
        self.base = 0
        self.emit("return out")
        return "\n".join(self.lines) + "\n"


def _literal_or_none(value: Any) -> str:
    return "None" if value is None else _literal(value)


def _after_stage(rule: StageRule) -> Condition | None:
    """The rule's condition without its leading from-stage test (None: nothing else to test)."""
    when = rule.when
    first = when.items[0] if isinstance(when, All) else when
    is_stage_test = (isinstance(first, Compare) and first.op == "eq" and (first.value,) == rule.from_stages) or \
        (isinstance(first, InSet) and not first.negate and first.values == rule.from_stages)
    if not is_stage_test:
        return when          # keep the whole condition: the stage test is then merely repeated
    if not isinstance(when, All):
        return None
    rest = when.items[1:]
    return rest[0] if len(rest) == 1 else All(rest, when.loc)


def compile_kind(rules: KindRules, runtime: dict[str, Any]) -> Any:
    """The generated ``evaluate_batch(records, now_days, today) -> list[Decision]`` of one kind.

    ``runtime`` supplies the helpers the code calls: ``_Decision``, ``_version``, ``_record_id``,
    ``_skip(record_id, stage)``, ``_contributions(mask)``, ``_contributions_cache``,
    ``_groups(flat_subtotals)``, ``_groups_cache`` (see :mod:`rules.pyengine`).
    """
    generator = KindCodegen(rules)
    source = generator.source()
    namespace = dict(generator.namespace)
    namespace.update(runtime)
    namespace["__builtins__"] = {}
    exec(compile(source, f"<baton rules: {rules.kind}>", "exec"), namespace)  # noqa: S102 - validated IR only
    return namespace["evaluate_batch"]


def kind_source(rules: KindRules) -> str:
    """The generated source (for debugging and the docs)."""
    return KindCodegen(rules).source()
