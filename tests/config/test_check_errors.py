"""`baton config check`: every class of error is reported as FILE:LINE: key: message, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.conftest import EXAMPLE, SECRETS, run_cli, write

BASE = """
salesforce:
  instance_url: https://acme.my.salesforce.com
  username: baton@acme.example
"""


def test_the_example_passes() -> None:
    result = run_cli("config", "check", "--file", str(EXAMPLE), env=SECRETS)

    assert result.exit_code == 0, result.output
    assert (
        f"{EXAMPLE}: OK (salesforce: Lead, Opportunity, Account, hubspot: contacts, deals, companies)"
        in result.output
    )
    assert "Traceback" not in result.output


# (file text, expected line, expected key path, words the message or hint must contain)
CASES = {
    "yaml syntax": (
        BASE + "hubspot:\n  host: [unclosed\n  portal_id: 1\n",
        6,
        "",
        ["YAML syntax error", "flow sequence (started on line 5)"],
    ),
    "not a mapping": ("- just\n- a list\n", 1, "", ["must be a mapping"]),
    "unknown key": (
        BASE + "  timout_seconds: 10\n",
        4,
        "salesforce.timout_seconds",
        ["not permitted", "did you mean `timeout_seconds`"],
    ),
    "wrong type": (BASE + "  timeout_seconds: soon\n", 4, "salesforce.timeout_seconds", ["valid number"]),
    "bad choice": (BASE + "  auth: kerberos\n", 4, "salesforce.auth", ["'session', 'password' or 'oauth'"]),
    "missing key": (
        "hubspot: {}\nsalesforce:\n  username: u\n",
        2,
        "salesforce.instance_url",
        ["Field required", "add `instance_url:` under salesforce"],
    ),
    "bad url": (
        BASE.replace("https://acme.my.salesforce.com", "acme.my.salesforce.com"),
        2,
        "salesforce.instance_url",
        ["http:// or https://"],
    ),
    "duplicate key": (BASE + "hold_period: 1d\nhold_period: 2d\n", 5, "hold_period", ["appears twice"]),
    "unset variable": (
        BASE + "  organization_id: ${ACME_ORG_ID}\n",
        4,
        "salesforce.organization_id",
        ["ACME_ORG_ID is not set"],
    ),
    "bad duration": ("hold_period: 7 fortnights\n", 1, "hold_period", ["units w d h m s"]),
    "batch too big": (
        "write_back:\n  batch_size:\n    hubspot: 250\n",
        3,
        "write_back.batch_size.hubspot",
        ["less than or equal to 100"],
    ),
    "stage values moved to the rules file": (
        BASE + "  objects:\n    Lead:\n      fields: {score: S__c}\n      stage_values:\n        qualified: MQL\n",
        7,
        "salesforce.objects.Lead.stage_values",
        ["no longer set in the configuration", "rules file under each stage's `crm:`", "delete this key"],
    ),
    "deal pipeline moved to the rules file": (
        "hubspot:\n  objects:\n    deals:\n      pipeline: default\n",
        4,
        "hubspot.objects.deals.pipeline",
        ["no longer set in the configuration", "rules file under each deal stage's `crm:`"],
    ),
    "bad field mapping": (
        BASE + "  objects:\n    Lead:\n      fields:\n        score: [S__c]\n",
        7,
        "salesforce.objects.Lead.fields.score",
        ["valid string"],
    ),
    "object without kind": (
        BASE + "  objects:\n    Acme__c:\n      fields: {stage: S__c}\n",
        5,
        "salesforce.objects.Acme__c.kind",
        ["Field required"],
    ),
    "auth needs username": (
        "salesforce:\n  instance_url: https://x.my.salesforce.com\n",
        1,
        "salesforce",
        ["needs a username"],
    ),
    "rules file not found": (
        BASE + "rules:\n  file: no/such/rules.yaml\n",
        5,
        "rules.file",
        ["file not found"],
    ),
    "ca_cert not found": (
        BASE + "  ca_cert: certs/missing.pem\n",
        4,
        "salesforce.ca_cert",
        ["file not found"],
    ),
    "literal secret": (
        BASE + "  password: Tr0ub4dor&3\n",
        4,
        "salesforce.password",
        ["written literally", "BATON_SALESFORCE_PASSWORD"],
    ),
    "literal password in a url": (
        "database_url: postgresql+psycopg://baton:Tr0ub4dor&3@db/baton\n",
        1,
        "database_url",
        ["written literally", "BATON_DATABASE_URL"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_error_is_located_and_exits_2(tmp_path: Path, case: str) -> None:
    text, line, key, words = CASES[case]
    path = write(tmp_path, text)

    result = run_cli("config", "check", "--file", str(path), env=SECRETS)

    assert result.exit_code == 2, result.output
    location = f"{path}:{line}: {key + ': ' if key else ''}"
    errors = [entry for entry in ("\n" + result.output).split("\nerror: ")[1:] if entry.startswith(location)]
    assert errors, f"no error at {location!r} in:\n{result.output}"
    assert all(word in errors[0] for word in words), errors[0]
    assert "hint: " in errors[0]
    assert "Traceback" not in result.output and "Tr0ub4dor" not in result.output


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  timeout_seconds: soon\n  auth: kerberos\nhold_period: 7x\n")

    result = run_cli("config", "check", "--file", str(path), env=SECRETS)

    assert result.exit_code == 2
    assert [f"{path}:{n}:" in result.output for n in (4, 5, 6)] == [True, True, True]
    assert "invalid (3 problems)" in result.output


def test_a_retired_key_is_one_problem_next_to_the_others(tmp_path: Path) -> None:
    """The retired key is reported once (not again as an unknown key) and other problems still show."""
    path = write(tmp_path, BASE + "  auth: kerberos\n  objects:\n    Opportunity:\n      stage_values: {}\n")

    result = run_cli("config", "check", "--file", str(path), env=SECRETS)

    assert result.exit_code == 2
    assert f"{path}:4: salesforce.auth" in result.output
    assert f"{path}:7: salesforce.objects.Opportunity.stage_values: stage values are no longer" in result.output
    assert "not permitted" not in result.output and "invalid (2 problems)" in result.output


def test_a_missing_file_is_reported_without_traceback(tmp_path: Path) -> None:
    result = run_cli("config", "check", "--file", str(tmp_path / "nope.yaml"))

    assert result.exit_code == 2
    assert (
        f"{tmp_path / 'nope.yaml'}: cannot read the file" in result.output
        and "baton.example.yaml" in result.output
    )


def test_missing_required_secrets_fail_by_name_unless_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "hubspot: {}\n")

    strict = run_cli("config", "check", "--file", str(path))
    relaxed = run_cli("config", "check", "--file", str(path), "--allow-missing-secrets")

    assert strict.exit_code == 2
    assert (
        f"{path}:1: salesforce.password: missing secret: set the environment variable "
        "BATON_SALESFORCE_PASSWORD" in strict.output
    )
    assert "BATON_HUBSPOT_ACCESS_TOKEN" in strict.output
    assert "note: missing secret: set the environment variable BATON_HUBSPOT_CLIENT_SECRET" in strict.output
    assert relaxed.exit_code == 0, relaxed.output
    assert "note: missing secret: set the environment variable BATON_SALESFORCE_PASSWORD" in relaxed.output


def test_show_refuses_an_invalid_file_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  auth: kerberos\n")

    result = run_cli("config", "show", "--file", str(path))

    assert result.exit_code == 2 and f"{path}:4: salesforce.auth" in result.output


# Each level repeats the previous one ten times: 10**6 values from a few lines.
BILLION_LAUGHS = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n".encode()
    for prev, name in zip("abcde", "bcdef", strict=True)
)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"hold_period: \xff\xfe7d\n", "not UTF-8 text"),
        (b"a: &x\n  b: *x\n", "alias refers to itself"),
        (b"? [1, 2]\n: x\n", "a key must be plain text"),
        (BILLION_LAUGHS, "expands to more than"),
    ],
    ids=["not utf-8", "recursive alias", "complex key", "billion laughs"],
)
def test_hostile_files_are_refused_cleanly(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "baton.yaml"
    path.write_bytes(content)

    result = run_cli("config", "check", "--file", str(path))

    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
