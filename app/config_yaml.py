"""Reading a YAML configuration file while keeping what error messages need.

A plain ``yaml.safe_load`` loses line numbers. Here the file is composed into nodes with a safe
loader and walked by hand, recording the line of every key, the text each scalar was written as
(for the secret policy), and the ``${NAME}`` references it used; ``${NAME}`` /
``${NAME:-default}`` are resolved from the environment on the way (``$${`` is a literal ``${``).
Hostile input (alias cycles, alias "bombs", odd keys, bad syntax) becomes a located problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located by file, line and key path."""

    file: str
    line: int | None
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` says where and why (never with secret values)."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# ----------------------------------------------------------------------------------- reading the YAML


MAX_NODES = 100_000


class TooLarge(Exception):
    """The document expands (through aliases) to more values than any configuration has."""


@dataclass
class YamlDocument:
    """The file's data with ``${}`` resolved, the line of every key, and how secrets were written."""

    file: str
    data: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    raw_text: dict[Path_, str] = field(default_factory=dict)  # scalar text before ${} resolution
    references: dict[Path_, list[str]] = field(default_factory=dict)
    unset: dict[Path_, list[str]] = field(default_factory=dict)  # referenced variables that are not set
    problems: list[ConfigProblem] = field(default_factory=list)
    nodes: int = 0  # values visited, to stop "billion laughs" alias expansion
    open_nodes: set[int] = field(default_factory=set)  # collections being built (alias cycles)

    def line_of(self, path: Path_) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def problem(self, path: Path_, message: str, hint: str = "") -> None:
        self.problems.append(ConfigProblem(self.file, self.line_of(path), dotted_path(path), message, hint))


def dotted_path(path: Path_) -> str:
    return ".".join(str(part) for part in path)


def read_document(text: str, file: str, env: Mapping[str, str]) -> YamlDocument:
    """Parse ``text`` (the file ``file``); problems are collected in the document, never raised."""
    document = YamlDocument(file)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        document.data = {} if root is None else _build(loader, root, (), document, env)
    except yaml.MarkedYAMLError as exc:
        document.problems.append(_syntax_problem(exc, file))
    except yaml.YAMLError as exc:
        document.problems.append(ConfigProblem(file, None, "", f"YAML error: {type(exc).__name__}"))
    except TooLarge:
        document.data = None
        hint = "a configuration file is small: check for aliases that multiply (*alias)"
        document.problems.append(
            ConfigProblem(file, None, "", f"the file expands to more than {MAX_NODES} values", hint)
        )
    finally:
        loader.dispose()
    if document.data is not None and not isinstance(document.data, dict):
        document.data = None
        message, hint = "the file must be a mapping of keys (key: value)", "start from baton.example.yaml"
        document.problems.append(ConfigProblem(file, 1, "", message, hint))
    return document


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    context = exc.context or ""
    if context and exc.context_mark is not None and exc.context_mark is not mark:
        context += f" (started on line {exc.context_mark.line + 1})"
    message = ": ".join(p for p in (context, exc.problem) if p) or "not valid YAML"
    hint = "check the indentation and quoting around this line"
    return ConfigProblem(file, mark.line + 1 if mark else None, "", f"YAML syntax error: {message}", hint)


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, document: YamlDocument, env: Mapping[str, str]
) -> Any:
    document.lines.setdefault(path, node.start_mark.line + 1)
    document.nodes += 1
    if document.nodes > MAX_NODES:
        raise TooLarge
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in document.open_nodes:  # an alias to one of its own ancestors
            document.problem(path, "an alias refers to itself", "remove the recursive *alias")
            return None
        document.open_nodes.add(id(node))
        try:
            return _build_collection(loader, node, path, document, env)
        finally:
            document.open_nodes.discard(id(node))
    value = loader.construct_object(node)
    document.raw_text[path] = "" if value is None else str(node.value)  # as written, for the secret policy
    if isinstance(value, str):
        value = _interpolate(value, path, document, env)
    return value


def _build_collection(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, document: YamlDocument, env: Mapping[str, str]
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves "<<: *anchor" merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)):
                document.lines[path] = key_node.start_mark.line + 1
                document.problem(path, "a key must be plain text", "write `name: value`")
                continue
            if key in result:
                document.lines[path + (key,)] = key_node.start_mark.line + 1
                document.problem(path + (key,), "this key appears twice", "keep one of them")
                continue
            document.lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, path + (key,), document, env)
        return result
    return [_build(loader, item, path + (index,), document, env) for index, item in enumerate(node.value)]


def _interpolate(text: str, path: Path_, document: YamlDocument, env: Mapping[str, str]) -> str | None:
    """Resolve ``${NAME}`` / ``${NAME:-default}`` references; an unset one makes the value None."""
    if "$" not in text:
        return text
    unset: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        document.references.setdefault(path, []).append(name)
        if name in env:
            return env[name]
        if default is not None:
            return default
        unset.append(name)
        return ""

    resolved = _REFERENCE.sub(replace, text)
    if unset:
        document.unset[path] = unset
        return None
    return resolved


# ------------------------------------------------------------------------------ paths into nested data


def get_path(data: Any, path: Path_) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def set_path(data: dict[str, Any], path: Path_, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def delete_path(data: dict[str, Any], path: Path_) -> None:
    for part in path[:-1]:
        data = data[part]
    data.pop(path[-1], None)
