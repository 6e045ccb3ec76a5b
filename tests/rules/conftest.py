"""Shared fixtures for the rules tests: a small valid rules file to mutate, and helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from rules.errors import RulesError
from rules.ir import Ruleset
from rules.load import load_ruleset_text

MINI = """\
baton: 1
name: mini
thresholds: {hot: 50}
kinds:
  lead:
    fields:
      stage: string
      email: string
      title: string
      clicks: number
      vip: bool
      seen: date
      score: number
      recycle_count: number
      recycle_reason: string
    writes: {recycle_count: recycle_count, recycle_reason: recycle_reason}
    stages:
      - name: new
      - name: warm
      - name: hot
    transitions:
      new: [warm, hot]
      warm: [hot, new]
      hot: [new]
    scoring:
      groups:
        activity:
          signals:
            - {id: clicked, points: 30, when: {field: clicks, ge: 1}}
            - {id: vip, points: 25, when: {field: vip, eq: true}}
    rules:
      - id: heat
        priority: 10
        from: [new, warm]
        when: {field: score, ge: {threshold: hot}}
        to: hot
      - id: warm_up
        priority: 20
        from: new
        when: {field: email, exists: true}
        to: warm
      - id: cool_down
        priority: 5
        from: hot
        when: {days_since: seen, gt: 30}
        action: recycle
        to: new
        reason: quiet
"""


def compile_text(text: str, name: str = "mini.yaml") -> Ruleset:
    return load_ruleset_text(text, name)


def problems_of(text: str, name: str = "mini.yaml") -> list[str]:
    """The problems of an invalid rules text, as printed (FILE:LINE:COLUMN: message + hint)."""
    with pytest.raises(RulesError) as caught:
        load_ruleset_text(text, name)
    return [str(p) for p in caught.value.problems]


def line_of(text: str, fragment: str) -> int:
    """1-based line number of the first line containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


@pytest.fixture()
def mini() -> Ruleset:
    return compile_text(MINI)


@pytest.fixture()
def write(tmp_path: Path):
    """Write a file under tmp_path and return its path as text."""
    def _write(name: str, text: str | bytes) -> str:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return str(path)
    return _write
