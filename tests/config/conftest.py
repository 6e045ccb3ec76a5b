"""Helpers for configuration tests: write a YAML file, run the CLI with a controlled environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.config import SECRET_ENV, URL_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "baton.example.yaml"

# Every variable Baton reads, unset, so the developer's own environment cannot leak into a test.
CLEAN_ENV: dict[str, str | None] = {
    name: None for name in [*SECRET_ENV.values(), *URL_ENV.values(), "BATON_CONFIG"]
}

SECRETS = {
    "BATON_SALESFORCE_PASSWORD": "sf-pass-Zq81xv",
    "BATON_SALESFORCE_SECURITY_TOKEN": "sf-token-Kk2093",
    "BATON_HUBSPOT_ACCESS_TOKEN": "pat-na1-hs-4471aa",
    "BATON_HUBSPOT_CLIENT_SECRET": "hs-client-secret-77de",
    "BATON_ADMIN_TOKEN": "admin-token-51c9",
    "BATON_SALESFORCE_FLOW_SECRET": "flow-secret-0b3e",
}


def write(tmp_path: Path, text: str, name: str = "baton.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**CLEAN_ENV, **(env or {})}, catch_exceptions=False)


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    """A small valid file with both CRMs (secrets come from the environment)."""
    return write(
        tmp_path,
        """
        salesforce:
          instance_url: https://acme.my.salesforce.com
          username: baton@acme.example
        hubspot:
          portal_id: 123456
    """,
    )
