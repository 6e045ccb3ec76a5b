"""Problems found in a rules file, reported as ``FILE:LINE:COLUMN: message`` plus a hint."""
from __future__ import annotations

from dataclasses import dataclass

from rules.ir import Loc


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.loc}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class RulesError(Exception):
    """A rules file that cannot be used; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.loc.file, p.loc.line, p.loc.column))
        super().__init__("\n".join(str(p) for p in self.problems))
