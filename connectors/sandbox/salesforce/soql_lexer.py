"""SOQL tokenizer: keywords, identifiers, string/number/date/datetime literals, operators."""
from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.sandbox.salesforce.errors import SfError, malformed_query

KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "NULL", "TRUE", "FALSE",
                      "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "COUNT"})

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),.:])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\",
            "%": "\\%", "_": "\\_"}   # \% and \_ stay escaped: only LIKE gives them meaning


@dataclass(frozen=True, slots=True)
class Token:
    kind: str        # keyword | ident | string | number | date | datetime | op | punct | end
    value: str
    position: int    # 0-based offset in the query text (for error messages)

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "keyword" and self.value in words


def unescape_string(literal: str, position: int) -> str:
    body, out, index = literal[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise malformed_query(f"Invalid string literal at position {position}: bad escape \\{escaped}")
            out.append(_ESCAPES[escaped])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise _unexpected(text, position)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "ident" and value.upper() in KEYWORDS:
            tokens.append(Token("keyword", value.upper(), position))
        elif kind != "ws":
            tokens.append(Token(kind, value, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unexpected(text: str, position: int) -> SfError:
    snippet = text[position:position + 10].split()[0] if text[position:].strip() else text[position:position + 1]
    return malformed_query(f"unexpected token: '{snippet}' at column {position + 1}")
