"""Compiles a parsed rules file (located YAML tree) into the IR (:mod:`rules.ir`).

Every problem is collected with its line and column; :func:`compile_tree` raises
:class:`rules.errors.RulesError` listing all of them, or returns a fully validated Ruleset.
"""
from __future__ import annotations

import hashlib

from rules.condparse import ConditionParser
from rules.errors import RulesError
from rules.ir import DerivedField, FieldSpec, FieldType, KindRules, Loc, Ruleset
from rules.kindparts import (
    KindParts,
    parse_gates,
    parse_rules,
    parse_scoring,
    parse_stages,
    parse_transitions,
)
from rules.schema import Reader, suggest
from rules.validate import check_kind
from rules.yamlsafe import Node

LANGUAGE_VERSION = 1
KINDS = ("lead", "opportunity", "account")
FIELD_TYPES: tuple[FieldType, ...] = ("number", "bool", "string", "date", "datetime")
RESERVED_FIELDS = ("id", "sid")
WRITE_ROLES: dict[str, tuple[str, ...]] = {
    "probability": ("number",), "gate_violation": ("string",), "stage_changed": ("date", "datetime"),
    "recycle_count": ("number",), "recycle_reason": ("string",),
}
_TOP_KEYS = ("baton", "name", "description", "thresholds", "kinds")
_KIND_KEYS = ("description", "fields", "stage_field", "stages", "transitions", "writes", "scoring", "rules",
              "gates")


def content_version(data: bytes) -> str:
    """The ruleset version: a content hash of the file's bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def compile_tree(root: Node, data: bytes, path: str) -> Ruleset:
    reader = Reader()
    top = reader.mapping(root, "the rules file", _TOP_KEYS, ("baton", "name", "kinds"))
    if top is None:
        raise RulesError(reader.problems)
    if "baton" in top and top["baton"].value != LANGUAGE_VERSION:
        reader.error(top["baton"].loc, f"unsupported language version {top['baton'].value!r}",
                     f"this Baton reads `baton: {LANGUAGE_VERSION}`")
    name = reader.ident(top["name"], "the ruleset name") if "name" in top else None
    thresholds = _thresholds(reader, top.get("thresholds"))
    kinds: dict[str, KindRules] = {}
    entries = reader.mapping(top["kinds"], "`kinds:`") if "kinds" in top else None
    for kind, node in (entries or {}).items():
        if kind not in KINDS:
            reader.error(node.key_loc or node.loc, f"unknown record kind {kind!r}", suggest(kind, KINDS))
            continue
        compiled = _kind(reader, kind, node, thresholds)
        if compiled is not None:
            kinds[kind] = compiled
    if entries is not None and not entries:
        reader.error(top["kinds"].loc, "`kinds:` is empty", "add rules for lead or opportunity")
    if reader.problems:
        raise RulesError(reader.problems)
    return Ruleset(name or "rules", content_version(data), path, thresholds, kinds)


def _thresholds(reader: Reader, node: Node | None) -> dict[str, float]:
    if node is None:
        return {}
    entries = reader.mapping(node, "`thresholds:`") or {}
    found: dict[str, float] = {}
    for key, child in entries.items():
        if reader.ident(Node(key, child.key_loc or child.loc), "threshold name") is None:
            continue
        value = reader.number(child, f"threshold {key!r}")
        if value is not None:
            found[key] = value
    return found


def _kind(reader: Reader, kind: str, node: Node, thresholds: dict[str, float]) -> KindRules | None:
    before = len(reader.problems)
    entries = reader.mapping(node, f"kind {kind!r}", _KIND_KEYS, ("fields",))
    if entries is None or "fields" not in entries:
        return None
    fields = _fields(reader, entries["fields"])
    parts = KindParts(kind, reader, fields)
    stage_field = _stage_field(reader, entries, fields)
    parts.stage_field = stage_field
    stages = parse_stages(parts, entries.get("stages"))
    if stage_field is not None:
        spec = fields.get(stage_field)
        fields[stage_field] = FieldSpec(stage_field, "string", tuple(s.name for s in stages),
                                        spec.loc if spec else node.loc)
    writes = _writes(reader, entries.get("writes"), fields)
    derived: dict[str, DerivedField] = {}
    conditions = ConditionParser(reader, fields, thresholds, derived)
    parts.conditions = conditions
    scoring = parse_scoring(parts, entries.get("scoring"))
    transitions = parse_transitions(parts, entries.get("transitions"), stages)
    gates = parse_gates(parts, entries.get("gates"), stages)
    rules = parse_rules(parts, entries.get("rules"), stages, gates, writes)
    if len(reader.problems) > before:
        return None
    compiled = KindRules(kind, fields, tuple(derived.values()), stage_field, stages, transitions, scoring,
                         rules, gates, writes.get("probability"), writes.get("gate_violation"),
                         writes.get("stage_changed"), writes.get("recycle_count"), writes.get("recycle_reason"))
    check_kind(reader, compiled)
    return compiled


def _fields(reader: Reader, node: Node) -> dict[str, FieldSpec]:
    fields: dict[str, FieldSpec] = {}
    for name, child in (reader.mapping(node, "`fields:`") or {}).items():
        loc = child.key_loc or child.loc
        if reader.ident(Node(name, loc), "field name") is None:
            continue
        if name in RESERVED_FIELDS:
            reader.error(loc, f"the field name {name!r} is reserved", "Baton passes the record id separately")
            continue
        spec = _field_spec(reader, name, child, loc)
        if spec is not None:
            fields[name] = spec
    return fields


def _field_spec(reader: Reader, name: str, node: Node, loc: Loc) -> FieldSpec | None:
    values: tuple[str, ...] | None = None
    type_node = node
    if isinstance(node.value, dict):
        entries = reader.mapping(node, f"field {name!r}", ("type", "values", "description"), ("type",))
        if entries is None or "type" not in entries:
            return None
        type_node = entries["type"]
        if "values" in entries:
            items = reader.sequence(entries["values"], f"values of {name!r}") or []
            texts = [reader.text(item, f"a value of {name!r}") for item in items]
            values = tuple(t for t in texts if t is not None)
    if type_node.value not in FIELD_TYPES:
        reader.error(type_node.loc, f"unknown field type {type_node.value!r} for {name!r}",
                     suggest(str(type_node.value), FIELD_TYPES))
        return None
    if values is not None and type_node.value != "string":
        reader.error(type_node.loc, f"`values:` only applies to string fields ({name!r} is {type_node.value})", "")
        return None
    return FieldSpec(name, type_node.value, values, loc)


def _stage_field(reader: Reader, entries: dict[str, Node], fields: dict[str, FieldSpec]) -> str | None:
    if "stages" not in entries:
        return None
    node = entries.get("stage_field")
    name = "stage" if node is None else reader.ident(node, "stage_field")
    if name is not None and name in fields and fields[name].type != "string":
        reader.error(fields[name].loc, f"the stage field {name!r} must be a string field", "")
    return name


def _writes(reader: Reader, node: Node | None, fields: dict[str, FieldSpec]) -> dict[str, str]:
    if node is None:
        return {}
    found: dict[str, str] = {}
    for role, child in (reader.mapping(node, "`writes:`", WRITE_ROLES) or {}).items():
        if role not in WRITE_ROLES:
            continue
        name = child.value
        if not isinstance(name, str) or name not in fields:
            reader.error(child.loc, f"unknown field {name!r}", suggest(str(name), fields))
        elif fields[name].type not in WRITE_ROLES[role]:
            reader.error(child.loc, f"{role} needs a {' or '.join(WRITE_ROLES[role])} field; "
                                    f"{name!r} is {fields[name].type}", "")
        else:
            found[role] = name
    return found
