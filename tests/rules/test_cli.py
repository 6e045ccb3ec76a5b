"""``baton rules`` exit codes and output: 0 valid/passed, 1 cases failed, 2 invalid input; no tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from app.commands.rules import rules
from rules.load import PLAYBOOKS
from tests.rules.conftest import MINI

PLAYBOOK = str(PLAYBOOKS / "the-model.yaml")
CASES = str(PLAYBOOKS / "the-model.cases.yaml")


def _run(*args: str):
    return CliRunner().invoke(rules, list(args))


def test_validate_valid_file_exits_0() -> None:
    result = _run("validate", PLAYBOOK)
    assert result.exit_code == 0 and "valid" in result.output and "sha256:" in result.output


def test_validate_invalid_file_exits_2_with_locations(write) -> None:
    path = write("bad.yaml", MINI.replace("{field: clicks, ge: 1}", "{field: clikcs, ge: 1}"))
    result = _run("validate", path)
    assert result.exit_code == 2
    assert f"{path}:29:55:" in result.output and "unknown field 'clikcs'" in result.output
    assert "hint: did you mean 'clicks'?" in result.output and "Traceback" not in result.output


def test_validate_hostile_and_missing_files_exit_2(write) -> None:
    hostile = write("evil.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n")
    for path in (hostile, write("bomb.yaml", "a: &a [1]\nb: [*a, *a]\n"), "/nonexistent.yaml"):
        result = _run("validate", path)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_through_the_installed_console_command(write) -> None:
    """The real entry point (python -m app.cli) also exits 2 without a traceback."""
    path = write("bad.yaml", "baton: 1\nname: x\nkinds: {lead: {fields: {a: nope}}}\n")
    done = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "rules", "validate", path],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert f"{path}:3:28: unknown field type 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_explain_readable_and_json(write) -> None:
    record = write("lead.json", json.dumps({"id": "00Q1", "kind": "lead", "stage": "qualified",
                                             "email": "a@acme.com", "no_response": True}))
    text = _run("explain", PLAYBOOK, record, "--now", "2026-11-24")
    assert text.exit_code == 0
    assert "recycle_no_response" in text.output and "no_response == true" in text.output
    as_json = _run("explain", PLAYBOOK, record, "--now", "2026-11-24", "--json")
    payload = json.loads(as_json.output)
    assert payload["rule_id"] == "recycle_no_response" and payload["set_fields"]["recycle_count"] == 1
    assert payload["now"] == "2026-11-24" and payload["ruleset_version"].startswith("sha256:")


def test_explain_bad_inputs_exit_2(write) -> None:
    record = write("lead.json", '{"stage": "qualified"')
    assert _run("explain", PLAYBOOK, record).exit_code == 2
    record = write("lead2.json", '{"stage": "qualified"}')
    result = _run("explain", PLAYBOOK, record)
    assert result.exit_code == 2 and "--kind" in result.output
    assert _run("explain", PLAYBOOK, record, "--kind", "deal").exit_code == 2
    assert _run("explain", PLAYBOOK, record, "--kind", "lead", "--now", "yesterday").exit_code == 2


def test_rule_tests_pass_and_fail(write) -> None:
    passed = _run("test", PLAYBOOK, CASES)
    assert passed.exit_code == 0 and "0 failed" in passed.output
    with open(CASES, encoding="utf-8") as handle:
        broken = handle.read().replace("expect: {kind: none, stage: nurturing, score: 95",
                                       "expect: {kind: none, stage: nurturing, score: 96")
    failed = _run("test", PLAYBOOK, write("cases.yaml", broken))
    assert failed.exit_code == 1
    assert "FAIL" in failed.output and "score: expected 96, got 95" in failed.output and "1 failed" in failed.output


def test_rule_tests_with_an_invalid_cases_file_exit_2(write) -> None:
    path = write("cases.yaml", "now: 2026-11-24\ncases:\n  - name: x\n    kind: deal\n    record: {}\n    expect: {}\n")
    result = _run("test", PLAYBOOK, path)
    assert result.exit_code == 2 and f"{path}:4:11: the ruleset has no kind 'deal'" in result.output


def test_malformed_cases_and_records_exit_2_without_traceback(write) -> None:
    cases = write("cases.yaml", "now: 2026-11-24\ncases:\n  - {name: x, kind: lead, record: {}, expect: {signals: 3, set: [1]}}\n")
    result = _run("test", PLAYBOOK, cases)
    assert result.exit_code == 2 and "expect `signals:` must be a list of names" in result.output
    assert "expect `set:` must be a mapping" in result.output
    record = write("odd.json", json.dumps({"kind": ["lead"], "stage": {"x": 1}, "email_clicks": [1, 2]}))
    assert _run("explain", PLAYBOOK, record).exit_code == 2
    odd_values = write("odd2.json", json.dumps({"kind": "lead", "stage": {"x": 1}, "email_clicks": [1, 2],
                                                "id": [1], "last_activity_date": 12}))
    result = _run("explain", PLAYBOOK, odd_values, "--json", "--now", "2026-11-24")
    assert result.exit_code == 0 and json.loads(result.output)["kind"] == "none"
