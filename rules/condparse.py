"""Parsing ``when:`` conditions into IR conditions, typed against the kind's declared fields.

Text predicates (contains / starts_with / ends_with) and ``days_since`` become derived fields
computed during normalisation, so every engine only ever compares plain values.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from rules.ir import (
    AgeField,
    All,
    AnyOf,
    Compare,
    Condition,
    DerivedField,
    Exists,
    FieldSpec,
    InSet,
    Literal_,
    Loc,
    Not,
    TextMatchField,
    days_since_epoch,
)
from rules.schema import Reader, _finite, suggest, type_name
from rules.yamlsafe import Node

COMPARE_OPS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
SET_OPS = ("in", "not_in")
PRESENCE_OPS = ("exists", "missing")
TEXT_OPS = ("contains", "starts_with", "ends_with")
LEAF_OPS = (*COMPARE_OPS, *SET_OPS, *PRESENCE_OPS, *TEXT_OPS)
_ORDERED_TYPES = ("number", "date", "datetime")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
MAX_NEEDLE = 200


class ConditionParser:
    """Parses conditions for one kind; registers derived fields as it meets them."""

    def __init__(self, reader: Reader, fields: dict[str, FieldSpec], thresholds: dict[str, float],
                 derived: dict[str, DerivedField]) -> None:
        self.reader = reader
        self.fields = fields
        self.thresholds = thresholds
        self.derived = derived
        self.forbidden: dict[str, str] = {}     # field -> why it may not be used here

    def parse(self, node: Node, what: str) -> Condition | None:
        entries = self.reader.mapping(node, what)
        if entries is None:
            return None
        for combinator in ("all", "any", "not"):
            if combinator in entries:
                if len(entries) != 1:
                    self.reader.error(node.loc, f"`{combinator}:` must be alone in its condition",
                                      "put the other tests inside its list")
                    return None
                return self._combinator(combinator, entries[combinator], what)
        return self._leaf(node, entries, what)

    def _combinator(self, name: str, node: Node, what: str) -> Condition | None:
        if name == "not":
            inner = self.parse(node, what)
            return None if inner is None else Not(inner, node.loc)
        items = self.reader.sequence(node, f"`{name}:`")
        if items is None:
            return None
        if not items:
            self.reader.error(node.loc, f"`{name}:` needs at least one condition", "")
            return None
        parsed = [self.parse(item, what) for item in items]
        if any(p is None for p in parsed):
            return None
        return (All if name == "all" else AnyOf)(tuple(parsed), node.loc)  # type: ignore[arg-type]

    def _leaf(self, node: Node, entries: dict[str, Node], what: str) -> Condition | None:
        ref = self._reference(node, entries)
        if ref is None:
            return None
        field, spec, shown = ref
        ops = [(key, child) for key, child in entries.items() if key not in ("field", "days_since")]
        if not ops:
            self.reader.error(node.loc, f"the test of {shown} has no operator", "add one of: " + ", ".join(LEAF_OPS))
            return None
        parsed: list[Condition | None] = []
        for key, child in ops:
            if key not in LEAF_OPS:
                self.reader.error(child.key_loc or child.loc, f"unknown operator {key!r}", suggest(key, LEAF_OPS))
                parsed.append(None)
                continue
            parsed.append(self._operator(key, child, field, spec, shown))
        if any(p is None for p in parsed):
            return None
        return parsed[0] if len(parsed) == 1 else All(tuple(parsed), node.loc)  # type: ignore[arg-type]

    def _reference(self, node: Node, entries: dict[str, Node]) -> tuple[str, FieldSpec, str] | None:
        key = "days_since" if "days_since" in entries else "field"
        if key not in entries:
            self.reader.error(node.loc, "a test needs `field:` (or `days_since:`), or all/any/not",
                              "e.g. `{field: email_clicks, ge: 3}`")
            return None
        name_node = entries[key]
        name = name_node.value
        if not isinstance(name, str) or name not in self.fields:
            self.reader.error(name_node.loc, f"unknown field {name!r}",
                              suggest(str(name), self.fields) + " (declare it under `fields:`)")
            return None
        if name in self.forbidden:
            self.reader.error(name_node.loc, f"the field {name!r} cannot be used here", self.forbidden[name])
            return None
        spec = self.fields[name]
        if key == "field":
            return name, spec, name
        if spec.type not in ("date", "datetime"):
            self.reader.error(name_node.loc, f"`days_since:` needs a date field; {name!r} is {spec.type}", "")
            return None
        derived = AgeField(f"{name}__age", name)
        self.derived.setdefault(derived.name, derived)
        return derived.name, FieldSpec(derived.name, "number"), f"days_since({name})"

    def _operator(self, op: str, node: Node, field: str, spec: FieldSpec, shown: str) -> Condition | None:
        loc = node.key_loc or node.loc
        if op in PRESENCE_OPS:
            flag = self.reader.boolean(node, f"`{op}:`")
            if flag is None:
                return None
            missing = (op == "missing") == flag
            return Exists(field, missing, f"{shown} {'is missing' if missing else 'exists'}", loc)
        if op in TEXT_OPS:
            return self._text(op, node, field, spec, shown, loc)
        if op in SET_OPS:
            return self._set(op, node, field, spec, shown, loc)
        if op not in ("eq", "ne") and spec.type not in _ORDERED_TYPES:
            self.reader.error(loc, f"`{op}` cannot compare {shown} ({spec.type})", "use eq, ne, in or not_in")
            return None
        value = self.literal(node, spec, shown)
        if value is None:
            return None
        return Compare(field, op, value, f"{shown} {COMPARE_OPS[op]} {_show(node, value)}", loc)  # type: ignore[arg-type]

    def _set(self, op: str, node: Node, field: str, spec: FieldSpec, shown: str, loc: Loc) -> Condition | None:
        if spec.type == "bool":
            self.reader.error(loc, f"`{op}` does not apply to the true/false field {shown}", "use eq")
            return None
        items = self.reader.sequence(node, f"`{op}:`")
        if not items:
            if items is not None:
                self.reader.error(node.loc, f"`{op}:` needs at least one value", "")
            return None
        values = [self.literal(item, spec, shown) for item in items]
        if any(v is None for v in values):
            return None
        shown_values = ", ".join(_show(item, v) for item, v in zip(items, values))
        label = f"{shown} {'not in' if op == 'not_in' else 'in'} [{shown_values}]"
        return InSet(field, tuple(dict.fromkeys(values)), op == "not_in", label, loc)  # type: ignore[arg-type]

    def _text(self, op: str, node: Node, field: str, spec: FieldSpec, shown: str, loc: Loc) -> Condition | None:
        if spec.type != "string" or field.endswith("__age"):
            self.reader.error(loc, f"`{op}` needs a text field; {shown} is {spec.type}", "")
            return None
        items = node.value if isinstance(node.value, list) else [node]
        needles = []
        for item in items:
            text = self.reader.text(item, f"`{op}:` value") if isinstance(item, Node) else None
            if text is None:
                return None
            if not text.strip() or len(text) > MAX_NEEDLE:
                self.reader.error(item.loc, f"`{op}:` needs non-empty text of at most {MAX_NEEDLE} characters", "")
                return None
            needles.append(text.lower())
        needles_t = tuple(dict.fromkeys(needles))
        derived = self._text_field(field, op, needles_t)  # type: ignore[arg-type]
        label = f"{shown} {op.replace('_', ' ')} any of {list(needles_t)!r}"
        return Compare(derived, "eq", True, label, loc)

    def _text_field(self, source: str, op: str, needles: tuple[str, ...]) -> str:
        for existing in self.derived.values():
            if isinstance(existing, TextMatchField) and (existing.source, existing.op, existing.needles) == (source, op, needles):
                return existing.name
        count = sum(1 for d in self.derived.values() if isinstance(d, TextMatchField) and d.source == source)
        name = f"{source}__{op}_{count + 1}"
        self.derived[name] = TextMatchField(name, source, op, needles)  # type: ignore[arg-type]
        return name

    def literal(self, node: Node, spec: FieldSpec, shown: str) -> Literal_ | None:
        """A literal converted to the field's normalised type, or None (problem recorded)."""
        value = node.value
        if isinstance(value, dict):
            return self._threshold(node, spec, shown)
        kind = spec.type
        if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not _finite(value):
                self.reader.error(node.loc, f"{shown} must be compared with a finite number", "")
                return None
            return value
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "string" and value is not None and not isinstance(value, list):
            text = value if isinstance(value, str) else (node.text or str(value))
            if spec.values is not None and text not in spec.values:
                self.reader.error(node.loc, f"{text!r} is not a value of {shown}", suggest(text, spec.values))
                return None
            return text
        if kind in ("date", "datetime") and isinstance(value, str):
            return self._date(node, value)
        self.reader.error(node.loc, f"{shown} is {_article(kind)}, but {type_name(value)} was given",
                          _literal_hint(kind))
        return None

    def _threshold(self, node: Node, spec: FieldSpec, shown: str) -> Literal_ | None:
        entries = self.reader.mapping(node, "a threshold reference", ("threshold",), ("threshold",))
        if entries is None or "threshold" not in entries:
            return None
        name = entries["threshold"].value
        if not isinstance(name, str) or name not in self.thresholds:
            self.reader.error(entries["threshold"].loc, f"unknown threshold {name!r}",
                              suggest(str(name), self.thresholds) + " (declare it under `thresholds:`)")
            return None
        if spec.type != "number":
            self.reader.error(node.loc, f"thresholds are numbers; {shown} is {spec.type}", "")
            return None
        return self.thresholds[name]

    def _date(self, node: Node, value: str) -> int | None:
        match = _ISO_DATE.match(value)
        try:
            if match is None:
                raise ValueError
            return days_since_epoch(date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            self.reader.error(node.loc, f"{value!r} is not a date", "write dates as YYYY-MM-DD")
            return None


def _article(kind: str) -> str:
    return {"number": "a number", "bool": "true/false", "string": "text", "date": "a date",
            "datetime": "a date"}[kind]


def _literal_hint(kind: str) -> str:
    return {"number": "write a number such as 3 or 2.5, or {threshold: NAME}",
            "bool": "write true or false", "string": "write text (quote it if needed)",
            "date": "write a date as YYYY-MM-DD", "datetime": "write a date as YYYY-MM-DD"}[kind]


def _show(node: Node, value: Any) -> str:
    if isinstance(node.value, dict) and "threshold" in node.value:
        return f"{value} (threshold {node.value['threshold'].value})"
    if isinstance(value, str):
        return repr(value)
    return node.text if node.text is not None else repr(value)
