"""Entry points: a rules file (path or text) to a validated, compiled :class:`rules.ir.Ruleset`."""
from __future__ import annotations

from pathlib import Path

from rules.compiler import compile_tree
from rules.errors import RulesError
from rules.ir import Ruleset
from rules.yamlsafe import load_file, load_text

PLAYBOOKS = Path(__file__).parent / "playbooks"


def load_ruleset(path: str | Path) -> Ruleset:
    """Read, validate and compile a rules file; raises :class:`RulesError` listing every problem."""
    tree, data = load_file(str(path))
    return compile_tree(tree, data, str(path))


def load_ruleset_text(text: str, name: str = "<text>") -> Ruleset:
    """The same from text (tests, uploads)."""
    return compile_tree(load_text(text, name), text.encode("utf-8"), name)


def the_model() -> Ruleset:
    """The shipped playbook, rules/playbooks/the-model.yaml."""
    return load_ruleset(PLAYBOOKS / "the-model.yaml")


__all__ = ["PLAYBOOKS", "RulesError", "load_ruleset", "load_ruleset_text", "the_model"]
