"""Mutated rules files never crash the compiler: they compile or raise RulesError (no traceback)."""
from __future__ import annotations

import random

import yaml

from rules.errors import RulesError
from rules.load import PLAYBOOKS, load_ruleset_text
from tests.rules.conftest import MINI

_LOAD = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMP = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_REPLACEMENTS = (None, 0, -1, 1.5, True, "", "x", "__", [], [1, [2]], {}, {"a": {"b": 1}}, "2026-99-99",
                 {"threshold": ["q"]}, {"field": {"x": 1}}, ["stage"], 10**30)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(document, path, value):
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _check(text: str) -> None:
    try:
        load_ruleset_text(text, "fuzz.yaml")
    except RulesError as exc:
        assert exc.problems and all(p.loc.file == "fuzz.yaml" for p in exc.problems)


def test_every_node_of_the_mini_file_replaced_by_odd_values() -> None:
    """Every node of the small file replaced by a rotating third of the odd values (each value meets
    every third node; about a thousand compiles, to keep the suite fast)."""
    base = yaml.load(MINI, Loader=_LOAD)
    for index, path in enumerate(list(_paths(base))[1:]):
        for value in _REPLACEMENTS[index % 3::3]:
            document = yaml.load(MINI, Loader=_LOAD)
            _mutate(document, path, value)
            _check(yaml.dump(document, Dumper=_DUMP))


def test_random_mutations_of_the_playbook() -> None:
    text = (PLAYBOOKS / "the-model.yaml").read_text(encoding="utf-8")
    base = yaml.load(text, Loader=_LOAD)
    paths = list(_paths(base))[1:]
    rng = random.Random(2026)
    for _ in range(50):
        document = yaml.load(text, Loader=_LOAD)
        for path in rng.sample(paths, 2):
            try:
                _mutate(document, path, rng.choice(_REPLACEMENTS))
            except (KeyError, IndexError, TypeError):
                continue                     # an earlier mutation removed the parent
        _check(yaml.dump(document, Dumper=_DUMP))
