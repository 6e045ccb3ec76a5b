"""Typed reading of the located YAML tree, collecting every problem with its line and column."""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

from rules.errors import Problem
from rules.ir import IDENTIFIER, Loc
from rules.yamlsafe import Node


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing (null)"


def suggest(word: str, choices: Iterable[str]) -> str:
    """A "did you mean" hint, or a list of what is allowed."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "allowed: " + ", ".join(choices) if choices else ""


def _finite(value: float) -> bool:
    """Finite and small enough to be a float (huge YAML integers would overflow later)."""
    try:
        return math.isfinite(value) and abs(value) < 1e300
    except OverflowError:
        return False


class Reader:
    """Reads values of expected shapes; on a mismatch records a problem and returns None."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, loc: Loc, message: str, hint: str = "") -> None:
        self.problems.append(Problem(loc, message, hint))

    def mapping(self, node: Node, what: str, allowed: Iterable[str] | None = None,
                required: Iterable[str] = ()) -> dict[str, Node] | None:
        if not isinstance(node.value, dict):
            self.error(node.loc, f"{what} must be a mapping (key: value lines), not {type_name(node.value)}",
                       "indent the entries under it as `key: value`")
            return None
        if allowed is not None:
            allowed = set(allowed)
            for key, child in node.value.items():
                if key not in allowed:
                    self.error(child.key_loc or child.loc, f"unknown key {key!r} in {what}", suggest(key, allowed))
        for key in required:
            if key not in node.value:
                self.error(node.loc, f"{what} needs the key {key!r}", f"add `{key}: ...`")
        return node.value

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node.value, list):
            self.error(node.loc, f"{what} must be a list, not {type_name(node.value)}",
                       "write one `- item` per line")
            return None
        return node.value

    def ident(self, node: Node, what: str) -> str | None:
        value = node.value
        if not isinstance(value, str) or not IDENTIFIER.match(value) or "__" in value:
            self.error(node.loc, f"{what} {value!r} is not a valid name",
                       "use lower_case letters, digits and single underscores, starting with a letter")
            return None
        return value

    def idents(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """One name or a list of names."""
        items = node.value if isinstance(node.value, list) else [node]
        names = [(self.ident(item, what), item) for item in items]
        return [(name, item) for name, item in names if name is not None]

    def integer(self, node: Node, what: str, minimum: int | None = None) -> int | None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node.loc, f"{what} must be a whole number, not {type_name(value)}", "")
            return None
        if minimum is not None and value < minimum:
            self.error(node.loc, f"{what} must be at least {minimum}", "")
            return None
        return value

    def number(self, node: Node, what: str, minimum: float | None = None,
               maximum: float | None = None) -> float | int | None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            self.error(node.loc, f"{what} must be a finite number, not {type_name(value)}", "")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(node.loc, f"{what} must be between {minimum} and {maximum}", "")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        if not isinstance(node.value, bool):
            self.error(node.loc, f"{what} must be true or false, not {type_name(node.value)}", "")
            return None
        return node.value

    def text(self, node: Node, what: str) -> str | None:
        value = node.value
        if isinstance(value, (dict, list)) or value is None:
            self.error(node.loc, f"{what} must be text, not {type_name(value)}", "")
            return None
        return value if isinstance(value, str) else (node.text or str(value))
