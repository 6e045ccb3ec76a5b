"""A hostile-input-proof YAML reader that keeps the line and column of every node.

Only plain data is accepted: no anchors or aliases (no "billion laughs"), no tags except the
standard scalar ones (no ``!!python/object``), bounded size and nesting, no duplicate keys. The
result is a tree of :class:`Node` (value + location), so every later error can point at its line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import yaml
from yaml.constructor import SafeConstructor

from rules.errors import Problem, RulesError
from rules.ir import Loc

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 200_000
_STANDARD_TAGS = frozenset("tag:yaml.org,2002:" + name for name in
                           ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))

# libyaml's C parser when present (about 20x faster); same events, nodes and marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NodeValue = Union[dict[str, "Node"], list["Node"], str, int, float, bool, None]  # noqa: UP007 - runtime alias


@dataclass(frozen=True, slots=True)
class Node:
    value: NodeValue
    loc: Loc
    key_loc: Loc | None = None   # for mapping values: where their key was written
    text: str | None = None      # a scalar's source text (so `NO` can stay the text "NO")


def _loc(file: str, mark: Any) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


def _screen(text: str, file: str) -> None:
    """Refuse aliases, anchors, non-standard tags and deep nesting before building anything."""
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=_LOADER), start=1):
        loc = _loc(file, event.start_mark)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise RulesError([Problem(loc, "anchors and aliases (&name, *name) are not allowed",
                                      "write the value out in full; rules files must be plain data")])
        tag = getattr(event, "tag", None)
        if tag and tag not in _STANDARD_TAGS and tag not in ("!", "?"):
            raise RulesError([Problem(loc, f"the tag {tag!r} is not allowed",
                                      "remove the tag: rules files hold plain strings, numbers, lists and maps")])
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise RulesError([Problem(loc, f"nesting deeper than {MAX_DEPTH} levels",
                                          "flatten the structure")])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if count > MAX_NODES:
            raise RulesError([Problem(loc, f"more than {MAX_NODES} YAML nodes", "split the file")])


def _scalar(node: yaml.ScalarNode, file: str) -> Any:
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value                      # dates stay text; the compiler types them
    try:
        return SafeConstructor().construct_object(node)
    except (ValueError, yaml.YAMLError) as exc:
        raise RulesError([Problem(_loc(file, node.start_mark), f"bad scalar {node.value[:40]!r}: {exc}",
                                  "quote it if it is text")]) from None


def _walk(node: yaml.Node, file: str) -> Node:
    loc = _loc(file, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        return Node(_scalar(node, file), loc, None, node.value)
    if isinstance(node, yaml.SequenceNode):
        return Node([_walk(item, file) for item in node.value], loc)
    mapping: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key_loc = _loc(file, key_node.start_mark)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            raise RulesError([Problem(key_loc, "mapping keys must be plain text", "")])
        key = str(_scalar(key_node, file))
        if key in mapping:
            raise RulesError([Problem(key_loc, f"duplicate key {key!r}",
                                      f"it is already set at line {mapping[key].key_loc.line}")])  # type: ignore[union-attr]
        value = _walk(value_node, file)
        mapping[key] = Node(value.value, value.loc, key_loc, value.text)
    return Node(mapping, loc)


def load_text(text: str, file: str) -> Node:
    """Parse YAML text into a located :class:`Node` tree, or raise :class:`RulesError`."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RulesError([Problem(Loc(file, 1, 1), f"file larger than {MAX_BYTES} bytes",
                                  "rules files are small; split or trim it")])
    try:
        _screen(text, file)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(file, mark) if mark is not None else Loc(file, 1, 1)
        raise RulesError([Problem(loc, f"YAML syntax: {exc.problem or exc.context}",
                                  "check indentation, colons and quotes on this line")]) from None
    except yaml.YAMLError as exc:
        raise RulesError([Problem(Loc(file, 1, 1), f"YAML error: {exc}", "")]) from None
    if root is None:
        raise RulesError([Problem(Loc(file, 1, 1), "the file is empty", "start from docs/rules.md")])
    return _walk(root, file)


def load_file(path: str) -> tuple[Node, bytes]:
    """Read and parse a rules file; returns the tree and the raw bytes (for the content hash)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RulesError([Problem(Loc(path, 0, 0), f"cannot read the file: {exc.strerror}",
                                  "check the path")]) from None
    if len(data) > MAX_BYTES:
        raise RulesError([Problem(Loc(path, 1, 1), f"file larger than {MAX_BYTES} bytes",
                                  "rules files are small; split or trim it")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError([Problem(Loc(path, 1, 1), f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                  "save the file as UTF-8")]) from None
    return load_text(text, path), data
