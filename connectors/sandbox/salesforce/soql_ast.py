"""The parsed form of a SOQL query."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldPath:
    parts: tuple[str, ...]            # ("Name",) or ("Account", "Name"), as written
    position: int = 0

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class DateRange:
    """A relative date literal (TODAY, LAST_N_DAYS:7, ...) as the UTC day range [start, end)."""

    name: str
    start: dt.date
    end: dt.date


Literal = str | float | int | bool | None | dt.date | dt.datetime | DateRange


@dataclass(frozen=True, slots=True)
class Comparison:
    path: FieldPath
    op: str                            # = != < <= > >= LIKE IN NOT IN
    value: Any                         # a Literal, or a tuple of Literals for IN / NOT IN


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str                            # AND | OR
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Any


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderItem:
    path: FieldPath
    descending: bool = False
    nulls_last: bool | None = None     # None: SOQL default (ASC nulls first, DESC nulls last)


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[FieldPath, ...]
    object: str
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    count: str | None = None           # "COUNT()" or "COUNT(field)"
    count_field: FieldPath | None = None
    text: str = field(default="", compare=False)
