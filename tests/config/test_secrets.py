"""Secrets never appear in output, errors, reprs or logs of the configuration."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from app.config import ConfigError, load_config
from tests.config.conftest import SECRETS, run_cli, write

DB_PASSWORD = "pg-Pw-f00d"
ENV = {
    **SECRETS,
    "BATON_DATABASE_URL": f"postgresql+psycopg://baton:{DB_PASSWORD}@db:5432/baton",
    "REDIS_URL": "redis://:redis-Pw-beef@cache:6379/0",
}
EVERY_SECRET = [*SECRETS.values(), DB_PASSWORD, "redis-Pw-beef"]

FULL = """
admin_token: ${BATON_ADMIN_TOKEN}
salesforce:
  instance_url: https://acme.my.salesforce.com
  username: baton@acme.example
  password: ${BATON_SALESFORCE_PASSWORD}
hubspot:
  portal_id: 42
"""


def leaked(text: str) -> list[str]:
    return [secret for secret in EVERY_SECRET if secret in text]


def test_show_redacts_every_secret(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)

    result = run_cli("config", "show", "--file", str(path), env=ENV)

    assert result.exit_code == 0, result.output
    assert leaked(result.output) == []
    shown = yaml.safe_load(result.output)
    assert shown["salesforce"]["password"] == "**********"
    assert shown["hubspot"]["access_token"] == "**********"
    assert shown["database_url"] == "postgresql+psycopg://baton:***@db:5432/baton"
    assert shown["redis_url"] == "redis://:***@cache:6379/0"
    assert shown["salesforce"]["flow_secret"] == "**********"
    assert shown["hold_period"] == "7d"


def test_check_output_has_no_secret(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)

    result = run_cli("config", "check", "--file", str(path), env=ENV)

    assert result.exit_code == 0, result.output
    assert leaked(result.output) == []


def test_repr_dump_and_logs_of_a_loaded_config_have_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write(tmp_path, FULL), env=ENV)
    logging.getLogger("baton.test").warning("loaded %s / %r", config, config.salesforce)

    text = repr(config) + str(config) + config.model_dump_json() + str(config.model_dump()) + caplog.text

    assert leaked(text) == []
    assert config.secret(config.salesforce.password) == SECRETS["BATON_SALESFORCE_PASSWORD"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad_entry",
    [
        "  password: hunter2-literal\n",  # a literal secret
        "  password: [hunter2-literal]\n",  # a secret of the wrong type
        "  pasword: hunter2-literal\n",  # a secret under a misspelt key
        "  timeout_seconds: hunter2-literal\n",  # a secret pasted in the wrong place
        "  security_token: ${X}hunter2-literal\n",  # part reference, part literal
    ],
)
def test_errors_never_echo_values(tmp_path: Path, bad_entry: str) -> None:
    path = write(tmp_path, FULL.replace("  password: ${BATON_SALESFORCE_PASSWORD}\n", bad_entry))

    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV)
    result = run_cli("config", "check", "--file", str(path), env=ENV)

    assert result.exit_code == 2
    for text in (str(caught.value), repr(caught.value), result.output):
        assert "hunter2-literal" not in text and leaked(text) == []
