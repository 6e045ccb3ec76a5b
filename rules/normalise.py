"""Normalisation of input records to the declared field types (see :mod:`rules.ir`, section 1).

Shared by every engine, so all of them see identical values: numbers as int/float, booleans as
bool, dates as integer days since 1970-01-01, missing as None, derived fields computed from ``now``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from rules.ir import EPOCH_ORDINAL, AgeField, FieldType, KindRules, TextMatchField

_DATE_PREFIX = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ]|\s*$)")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

Normaliser = Callable[[Mapping[str, Any], int], dict[str, Any]]


def to_number(value: Any) -> int | float | None:
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if kind is str and _NUMBER.match(value):
        return to_number(float(value)) if any(c in value for c in ".eE") else int(value)
    return None


def to_bool(value: Any) -> bool | None:
    kind = type(value)
    if kind is bool:
        return value
    if kind is int and value in (0, 1):
        return bool(value)
    if kind is str:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def to_string(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return value if value.strip() else None
    if kind is int or kind is float:
        return str(value)
    return None


def to_days(value: Any) -> int | None:
    """Days since 1970-01-01 of a date, datetime (its UTC date) or ISO string; else None."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.toordinal() - EPOCH_ORDINAL
    if isinstance(value, date):
        return value.toordinal() - EPOCH_ORDINAL
    if type(value) is str:
        match = _DATE_PREFIX.match(value)
        if match is None:
            return None
        if "T" in value or " " in value.strip():
            return _iso_datetime_days(value.strip())
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).toordinal() - EPOCH_ORDINAL
        except ValueError:
            return None
    return None


def _iso_datetime_days(text: str) -> int | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return to_days(parsed)


CONVERTERS: dict[FieldType, Callable[[Any], Any]] = {
    "number": to_number, "bool": to_bool, "string": to_string, "date": to_days, "datetime": to_days,
}


def _text_match(op: str, needles: tuple[str, ...]) -> Callable[[Any], bool]:
    def matches(value: Any) -> bool:
        if value is None:
            return False
        text = value.lower()
        if op == "contains":
            return any(needle in text for needle in needles)
        if op == "starts_with":
            return text.startswith(needles)
        if op == "ends_with":
            return text.endswith(needles)
        return text in needles
    return matches


AgeSpec = tuple[str, str]                                  # (derived field, source date field)
TextSpec = tuple[str, str, Callable[[Any], bool]]          # (derived field, source, matcher)


def complete(out: dict[str, Any], now_days: int, stage_field: str | None, stage_names: frozenset[str],
             ages: tuple[AgeSpec, ...], texts: tuple[TextSpec, ...]) -> dict[str, Any]:
    """Finish a record whose declared fields are converted: an unknown stage becomes missing, and the
    derived fields (ages, text matches) are computed. Shared by every engine's normalisation."""
    if stage_field is not None and out.get(stage_field) not in stage_names:
        out[stage_field] = None
    for name, source in ages:
        value = out[source]
        out[name] = None if value is None else now_days - value
    for name, source, matches in texts:
        out[name] = matches(out[source])
    return out


def normaliser(rules: KindRules) -> Normaliser:
    """A function ``(record, now_days) -> normalised dict`` for one kind."""
    converters = tuple((name, CONVERTERS[spec.type]) for name, spec in rules.fields.items())
    stage_field = rules.stage_field
    stage_names = frozenset(rules.stage_names)
    ages = tuple((d.name, d.source) for d in rules.derived if isinstance(d, AgeField))
    texts = tuple((d.name, d.source, _text_match(d.op, d.needles))
                  for d in rules.derived if isinstance(d, TextMatchField))

    def normalise(record: Mapping[str, Any], now_days: int) -> dict[str, Any]:
        get = record.get
        out = {name: convert(get(name)) for name, convert in converters}
        return complete(out, now_days, stage_field, stage_names, ages, texts)

    return normalise
