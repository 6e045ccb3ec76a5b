"""The YAML reader refuses hostile and malformed input cleanly, with line and column."""
from __future__ import annotations

import pytest

from rules.errors import RulesError
from rules.load import load_ruleset
from rules.yamlsafe import MAX_BYTES, MAX_DEPTH, load_file, load_text


def _error(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        load_text(text, "f.yaml")
    return str(caught.value)


def test_billion_laughs_alias_bomb_is_refused_before_expansion() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        previous = chr(ord("a") + index - 1)
        current = chr(ord("a") + index)
        lines.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    message = _error("\n".join(lines))
    assert message.startswith("f.yaml:1:4: anchors and aliases")


def test_a_single_alias_is_refused_too() -> None:
    message = _error("base: {x: 1}\nother: *base\n")
    assert "f.yaml:2:8" in message and "aliases" in message


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/object/apply:os.system",
                                 "!!python/name:builtins.eval", "!custom", "!!binary"])
def test_object_constructing_tags_are_refused(tag: str) -> None:
    message = _error(f"name: {tag} ['echo hacked']\n")
    assert "f.yaml:1:7" in message and "is not allowed" in message


def test_deep_nesting_is_refused() -> None:
    depth = MAX_DEPTH + 5
    message = _error("a: " + "[" * depth + "]" * depth)
    assert "nesting deeper than" in message


def test_nesting_at_the_limit_is_accepted() -> None:
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load_text(text, "f.yaml").value is not None


def test_huge_file_is_refused_without_parsing(write) -> None:
    path = write("huge.yaml", "a: " + "x" * (MAX_BYTES + 10))
    with pytest.raises(RulesError) as caught:
        load_file(path)
    assert "larger than" in str(caught.value)


def test_duplicate_keys_name_both_lines() -> None:
    message = _error("name: a\nkinds: {}\nname: b\n")
    assert message.startswith("f.yaml:3:1: duplicate key 'name'") and "line 1" in message


def test_syntax_error_has_line_and_column() -> None:
    message = _error("name: x\nkinds:\n  lead: [1, 2\n")
    assert message.startswith(("f.yaml:4:1: YAML syntax", "f.yaml:3:"))


def test_empty_file_and_non_utf8_and_missing_file(write) -> None:
    assert "empty" in _error("")
    with pytest.raises(RulesError, match="not UTF-8"):
        load_file(write("latin.yaml", b"name: caf\xe9\n"))
    with pytest.raises(RulesError, match="cannot read"):
        load_ruleset("/nonexistent/rules.yaml")


def test_nodes_keep_line_and_column_and_source_text() -> None:
    root = load_text("a:\n  b: NO\n  c: 2026-11-24\n", "f.yaml")
    b = root.value["a"].value["b"]
    assert (b.loc.line, b.loc.column, b.key_loc.column) == (2, 6, 3)
    assert b.value is False and b.text == "NO"           # YAML 1.1 "Norway" kept as source text
    assert root.value["a"].value["c"].value == "2026-11-24"   # timestamps are not constructed
