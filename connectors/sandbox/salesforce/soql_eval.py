"""SOQL evaluation: check field names and literal types against the schema, filter, sort, render rows.

String comparisons are case-insensitive, as in Salesforce, except on ids (``Id > '00Q...'`` compares
ids as the case-sensitive strings they are, which is what keyset paging on ``Id`` relies on).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.salesforce.errors import SfError, invalid_field, malformed_query
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef, find_object
from connectors.sandbox.salesforce.soql_ast import (
    BoolOp,
    Comparison,
    Condition,
    DateRange,
    FieldPath,
    Not,
    Query,
)
from connectors.sandbox.salesforce.values import UTC, format_date, format_datetime, to_18_char_id

Row = dict[str, Any]
Lookup = Callable[[str, str], "Row | None"]     # (object name, id) -> stored record or None


@dataclass(frozen=True)
class ResolvedField:
    """A field path checked against the schema: the final field, and the relationships leading to it."""

    path: FieldPath
    hops: tuple[tuple[FieldDef, ObjectDef], ...]    # (reference field, target object) per relationship
    field: FieldDef

    def value(self, row: Row, lookup: Lookup) -> Any:
        current: Row | None = row
        for reference, target in self.hops:
            parent_id = current.get(reference.name) if current else None
            current = lookup(target.name, parent_id) if parent_id else None
            if current is None:
                return None
        return current.get(self.field.name) if current else None

    @property
    def is_id(self) -> bool:
        return self.field.type in ("id", "reference")


def resolve(obj: ObjectDef, path: FieldPath) -> ResolvedField:
    hops: list[tuple[FieldDef, ObjectDef]] = []
    current = obj
    for part in path.parts[:-1]:
        reference = current.relationship(part)
        target = find_object(reference.reference_to) if reference and reference.reference_to else None
        if reference is None or target is None:
            raise _no_such_column(path, current, part)
        hops.append((reference, target))
        current = target
    final = current.field(path.parts[-1])
    if final is None:
        raise _no_such_column(path, current, path.parts[-1])
    return ResolvedField(path, tuple(hops), final)


def _no_such_column(path: FieldPath, obj: ObjectDef, name: str) -> SfError:
    return invalid_field(
        f"\n{path.text}\n^\nERROR at Row:1:Column:{path.position + 1}\nNo such column '{name}' on entity "
        f"'{obj.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the "
        "custom field name. Please reference your WSDL or the describe call for the appropriate names.")


def _check_literal(resolved: ResolvedField, op: str, value: Any) -> None:
    """Salesforce refuses a literal of the wrong type for the field (e.g. a quoted datetime)."""
    if isinstance(value, tuple):
        for item in value:
            _check_literal(resolved, "=", item)
        return
    if value is None:
        if op not in ("=", "!="):
            raise malformed_query(f"invalid operator on null for field '{resolved.path.text}'")
        return
    category = resolved.field.category
    accepted = {
        "string": isinstance(value, str), "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool), "date": isinstance(value, DateRange) or (
            isinstance(value, dt.date) and not isinstance(value, dt.datetime)),
        "datetime": isinstance(value, (dt.datetime, DateRange)),
    }.get(category, True)
    if not accepted:
        raise invalid_field(f"value of filter criterion for field '{resolved.path.text}' must be of type "
                            f"{resolved.field.type} and should not be enclosed in quotes"
                            if category != "string" else
                            f"value of filter criterion for field '{resolved.path.text}' must be a quoted string")
    if op == "LIKE" and category != "string":
        raise malformed_query(f"invalid operator LIKE on field '{resolved.path.text}' of type {resolved.field.type}")


def _like_regex(pattern: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _comparable(resolved: ResolvedField, value: Any) -> Any:
    if isinstance(value, str) and not resolved.is_id:
        return value.casefold()
    return value


def _literal(resolved: ResolvedField, value: Any) -> Any:
    """A literal ready to compare: 15-character ids widened to the stored 18-character form."""
    if resolved.is_id and isinstance(value, str) and len(value) == 15 and value.isalnum():
        return to_18_char_id(value)
    return _comparable(resolved, value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _range_compare(op: str, value: Any, literal: DateRange) -> bool:
    if value is None:
        return op == "!="
    start: dt.date = literal.start
    end: dt.date = literal.end
    if isinstance(value, dt.datetime):
        start = dt.datetime.combine(literal.start, dt.time(), UTC)
        end = dt.datetime.combine(literal.end, dt.time(), UTC)
    inside = start <= value < end
    return {"=": inside, "!=": not inside, "<": value < start, "<=": value < end, ">": value >= end,
            ">=": value >= start}[op]


class Evaluator:
    """Compiles one parsed query against the schema and runs it over stored rows."""

    def __init__(self, query: Query, lookup: Lookup) -> None:
        obj = find_object(query.object)
        if obj is None:
            raise SfError(400, "INVALID_TYPE", f"\n{query.object}\n^\nERROR at Row:1:Column:1\nsObject type "
                          f"'{query.object}' is not supported. If you are attempting to use a custom object, be "
                          "sure to append the '__c' after the entity name.")
        self.query = query
        self.object = obj
        self.lookup = lookup
        self.fields = [resolve(obj, path) for path in query.fields]
        self.count_field = resolve(obj, query.count_field) if query.count_field else None
        self.order = [(resolve(obj, item.path), item) for item in query.order_by]
        self.where = self._compile(query.where) if query.where is not None else None

    def _compile(self, condition: Condition) -> Callable[[Row], bool]:
        if isinstance(condition, BoolOp):
            parts = [self._compile(item) for item in condition.items]
            if condition.op == "AND":
                return lambda row: all(part(row) for part in parts)
            return lambda row: any(part(row) for part in parts)
        if isinstance(condition, Not):
            inner = self._compile(condition.item)
            return lambda row: not inner(row)
        return self._compile_comparison(condition)

    def _compile_comparison(self, comparison: Comparison) -> Callable[[Row], bool]:
        resolved = resolve(self.object, comparison.path)
        _check_literal(resolved, comparison.op, comparison.value)
        op, literal, lookup = comparison.op, comparison.value, self.lookup
        if op == "LIKE":
            regex = _like_regex(literal)
            return lambda row: (value := resolved.value(row, lookup)) is not None and bool(regex.fullmatch(str(value)))
        if op in ("IN", "NOT IN"):
            options = {_literal(resolved, item) for item in literal}
            wanted = op == "IN"
            return lambda row: (_comparable(resolved, resolved.value(row, lookup)) in options) == wanted
        if isinstance(literal, DateRange):
            return lambda row: _range_compare(op, resolved.value(row, lookup), literal)
        right = _literal(resolved, literal)
        return lambda row: _compare(op, _comparable(resolved, resolved.value(row, lookup)), right)

    def run(self, rows: Iterable[Row]) -> list[Row]:
        """Matching rows, ordered, with OFFSET and LIMIT applied."""
        matched = [row for row in rows if self.where is None or self.where(row)]
        for resolved, item in reversed(self.order):
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            present = [row for row in matched if resolved.value(row, self.lookup) is not None]
            missing = [row for row in matched if resolved.value(row, self.lookup) is None]
            present.sort(key=lambda row: _comparable(resolved, resolved.value(row, self.lookup)),
                         reverse=item.descending)
            matched = present + missing if nulls_last else missing + present
        start = self.query.offset or 0
        end = start + self.query.limit if self.query.limit is not None else None
        return matched[start:end]

    def render(self, row: Row, version: str) -> dict[str, Any]:
        """One query result row as the REST API shows it, relationship fields nested."""
        out: dict[str, Any] = {"attributes": attributes(self.object.name, row.get("Id"), version)}
        for resolved in self.fields:
            _place(out, resolved, row, self.lookup, version)
        return out


def attributes(object_name: str, record_id: Any, version: str) -> dict[str, str]:
    return {"type": object_name, "url": f"/services/data/v{version}/sobjects/{object_name}/{record_id}"}


def _place(out: dict[str, Any], resolved: ResolvedField, row: Row, lookup: Lookup, version: str) -> None:
    target: dict[str, Any] = out
    current: Row | None = row
    for (reference, parent_obj), name in zip(resolved.hops, resolved.path.parts):
        parent_id = current.get(reference.name) if current else None
        current = lookup(parent_obj.name, parent_id) if parent_id else None
        key = reference.relationship or name
        if current is None:
            target.setdefault(key, None)
            return
        nested = target.get(key)
        if not isinstance(nested, dict):
            nested = target[key] = {"attributes": attributes(parent_obj.name, current.get("Id"), version)}
        target = nested
    target[resolved.field.name] = wire_value(resolved.field, current.get(resolved.field.name) if current else None)


def wire_value(field: FieldDef, value: Any) -> Any:
    """A stored value as JSON: datetimes with ms and +0000, dates ISO, numbers as JSON numbers."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if field.type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
