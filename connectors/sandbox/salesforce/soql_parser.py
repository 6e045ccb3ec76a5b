"""SOQL parser: tokens to a :class:`Query` (syntax only; field names are checked by the evaluator)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sandbox.salesforce.errors import SfError, malformed_query
from connectors.sandbox.salesforce.soql_ast import (
    BoolOp,
    Comparison,
    Condition,
    DateRange,
    FieldPath,
    Not,
    OrderItem,
    Query,
)
from connectors.sandbox.salesforce.soql_lexer import Token, tokenize, unescape_string
from connectors.sandbox.salesforce.values import parse_datetime

COMPARISON_OPS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


def parse(text: str, today: dt.date | None = None) -> Query:
    """Parse a SOQL query; raises :class:`SfError` MALFORMED_QUERY with the offending token."""
    return _Parser(text, today or dt.datetime.now(dt.UTC).date()).query()


def relative_date(name: str, n: int | None, today: dt.date) -> DateRange:
    """The UTC day range of a SOQL date literal such as TODAY or LAST_N_DAYS:30."""
    day = dt.timedelta(days=1)
    ranges = {
        "TODAY": (today, today + day), "YESTERDAY": (today - day, today), "TOMORROW": (today + day, today + 2 * day),
        "LAST_N_DAYS": (today - (n or 0) * day, today + day), "NEXT_N_DAYS": (today + day, today + (1 + (n or 0)) * day),
        "THIS_MONTH": (today.replace(day=1), (today.replace(day=28) + 4 * day).replace(day=1)),
    }
    start, end = ranges[name]
    return DateRange(f"{name}:{n}" if n is not None else name, start, end)


DATE_LITERALS_WITH_N = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
DATE_LITERALS = frozenset({"TODAY", "YESTERDAY", "TOMORROW", "THIS_MONTH"}) | DATE_LITERALS_WITH_N


class _Parser:
    def __init__(self, text: str, today: dt.date) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.today = today

    # -- token helpers ---------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept_keyword(self, *words: str) -> Token | None:
        return self.advance() if self.current.is_keyword(*words) else None

    def expect_keyword(self, word: str) -> Token:
        if not self.current.is_keyword(word):
            raise self.unexpected(f"expecting '{word}'")
        return self.advance()

    def accept_punct(self, char: str) -> bool:
        if self.current.kind == "punct" and self.current.value == char:
            self.index += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            raise self.unexpected(f"expecting '{char}'")

    def unexpected(self, hint: str = "") -> SfError:
        token = self.current
        shown = token.value if token.kind != "end" else "<EOF>"
        suffix = f" ({hint})" if hint else ""
        return malformed_query(f"unexpected token: '{shown}' at column {token.position + 1}{suffix}")

    # -- grammar -----------------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields, count, count_field = self.select_list()
        self.expect_keyword("FROM")
        if self.current.kind != "ident":
            raise self.unexpected("expecting an object name")
        object_name = self.advance().value
        where = self.condition() if self.accept_keyword("WHERE") else None
        order_by = self.order_by() if self.accept_keyword("ORDER") else ()
        limit = self.integer() if self.accept_keyword("LIMIT") else None
        offset = self.integer() if self.accept_keyword("OFFSET") else None
        if self.current.kind != "end":
            raise self.unexpected()
        return Query(fields=tuple(fields), object=object_name, where=where, order_by=order_by, limit=limit,
                     offset=offset, count=count, count_field=count_field, text=self.text)

    def select_list(self) -> tuple[list[FieldPath], str | None, FieldPath | None]:
        if self.accept_keyword("COUNT"):
            self.expect_punct("(")
            count_field = None if self.current.kind == "punct" else self.field_path()
            self.expect_punct(")")
            if self.current.kind == "punct" and self.current.value == ",":
                raise self.unexpected("COUNT() must be the only element of the SELECT list")
            return [], "COUNT(field)" if count_field else "COUNT()", count_field
        fields = [self.field_path()]
        while self.accept_punct(","):
            fields.append(self.field_path())
        return fields, None, None

    def field_path(self) -> FieldPath:
        if self.current.kind != "ident":
            raise self.unexpected("expecting a field name")
        start = self.current.position
        parts = [self.advance().value]
        while self.accept_punct("."):
            if self.current.kind != "ident":
                raise self.unexpected("expecting a field name after '.'")
            parts.append(self.advance().value)
        return FieldPath(tuple(parts), start)

    def order_by(self) -> tuple[OrderItem, ...]:
        self.expect_keyword("BY")
        items = [self.order_item()]
        while self.accept_punct(","):
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        path = self.field_path()
        descending = bool(self.accept_keyword("DESC")) or (not self.accept_keyword("ASC") and False)
        nulls_last: bool | None = None
        if self.accept_keyword("NULLS"):
            token = self.accept_keyword("FIRST", "LAST")
            if token is None:
                raise self.unexpected("expecting FIRST or LAST")
            nulls_last = token.value == "LAST"
        return OrderItem(path, descending, nulls_last)

    def integer(self) -> int:
        token = self.current
        if token.kind != "number" or not token.value.isdigit():
            raise self.unexpected("expecting a non-negative integer")
        self.advance()
        return int(token.value)

    def condition(self) -> Condition:
        items = [self.conjunction()]
        while self.accept_keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.negation()]
        while self.accept_keyword("AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def negation(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.negation())
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        path = self.field_path()
        token = self.current
        if token.kind == "op" and token.value in COMPARISON_OPS:
            self.advance()
            op = "!=" if token.value == "<>" else token.value
            return Comparison(path, op, self.literal())
        if self.accept_keyword("LIKE"):
            value = self.literal()
            if not isinstance(value, str):
                raise malformed_query(f"LIKE needs a string literal (field {path.text})")
            return Comparison(path, "LIKE", value)
        negated = bool(self.accept_keyword("NOT"))
        if self.accept_keyword("IN"):
            return Comparison(path, "NOT IN" if negated else "IN", self.literal_list())
        raise self.unexpected("expecting a comparison operator")

    def literal_list(self) -> tuple[Any, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.accept_punct(","):
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Any:
        token = self.advance()
        if token.kind == "string":
            return unescape_string(token.value, token.position)
        if token.kind == "number":
            return float(token.value) if "." in token.value else int(token.value)
        if token.kind == "datetime":
            return parse_datetime(token.value)
        if token.kind == "date":
            return dt.date.fromisoformat(token.value)
        if token.is_keyword("NULL"):
            return None
        if token.is_keyword("TRUE", "FALSE"):
            return token.value == "TRUE"
        if token.kind == "ident" and token.value.upper() in DATE_LITERALS:
            return self.date_literal(token.value.upper())
        self.index -= 1
        raise self.unexpected("expecting a value")

    def date_literal(self, name: str) -> DateRange:
        if name not in DATE_LITERALS_WITH_N:
            return relative_date(name, None, self.today)
        self.expect_punct(":")
        return relative_date(name, self.integer(), self.today)
