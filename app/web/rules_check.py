"""Validation of uploaded rules files for :class:`app.web.services.InProcessServices`.

It uses the ``rules`` package (``rules.yamlsafe.load_text`` + ``rules.compiler.compile_tree``) when
that package is importable. Until then, :func:`placeholder_validate` stands in: it only checks YAML
syntax and that the file is a mapping with ``kinds:``. The real pipeline's Services implementation
validates with the rules package itself; this module exists so the web layer can be tested alone.
"""
from __future__ import annotations

from typing import Any

import yaml

from app.web.services import RuleProblem


def validate_rules_text(text: str, filename: str) -> list[RuleProblem]:
    """Problems in a rules file (empty when valid), each located as FILE:LINE:COLUMN."""
    try:
        from rules.compiler import compile_tree
        from rules.errors import RulesError
        from rules.yamlsafe import load_text
    except ImportError:
        return placeholder_validate(text, filename)
    try:
        compile_tree(load_text(text, filename), text.encode("utf-8"), filename)
    except RulesError as exc:
        return [RuleProblem(p.loc.file, p.loc.line, p.loc.column, p.message, p.hint)
                for p in exc.problems]
    return []


def placeholder_validate(text: str, filename: str) -> list[RuleProblem]:
    """PLACEHOLDER until the rules package validates: YAML syntax and a top-level ``kinds:`` mapping."""
    try:
        document: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return [RuleProblem(filename, line, column, f"YAML syntax: {exc.problem or exc.context}",
                            "check indentation, colons and quotes on this line")]
    except yaml.YAMLError as exc:
        return [RuleProblem(filename, 1, 1, f"YAML error: {type(exc).__name__}")]
    if not isinstance(document, dict):
        return [RuleProblem(filename, 1, 1, "a rules file must be a YAML mapping",
                            "start from the playbook in rules/playbooks/")]
    if not isinstance(document.get("kinds"), dict):
        return [RuleProblem(filename, 1, 1, "missing `kinds:` mapping", "add rules for lead or opportunity")]
    return []
