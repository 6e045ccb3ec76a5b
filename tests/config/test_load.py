"""Loading: defaults, merges, ${} references, environment precedence, sandbox defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.config import ConfigError, default_config_for_sandboxes, load_config
from app.config_schema import DEFAULT_DATABASE_URL, format_duration, parse_duration
from connectors import hubspot_settings, salesforce_settings
from connectors.records import RecordKind
from tests.config.conftest import EXAMPLE, REPO_ROOT, SECRETS, write


def test_the_example_file_loads(tmp_path: Path) -> None:
    config = load_config(EXAMPLE, env=SECRETS)

    assert config.source == EXAMPLE
    assert config.hold_period == timedelta(days=7)
    assert config.rules.file == REPO_ROOT / "rules" / "playbooks" / "the-model.yaml"
    assert config.salesforce is not None and config.salesforce.auth == "password"
    assert config.secret(config.salesforce.password) == SECRETS["BATON_SALESFORCE_PASSWORD"]
    assert config.secret(config.admin_token) == SECRETS["BATON_ADMIN_TOKEN"]
    assert list(config.enabled_objects("salesforce")) == ["Lead", "Opportunity", "Account"]
    assert list(config.enabled_objects("hubspot")) == ["contacts", "deals", "companies"]
    assert config.write_back.batch_size.salesforce == 200 and config.write_back.verify_before_write


def test_defaults_follow_the_domain_contract(minimal: Path) -> None:
    config = load_config(minimal, env={})

    lead = config.enabled_objects("salesforce")["Lead"]
    contacts = config.enabled_objects("hubspot")["contacts"]
    deals = config.enabled_objects("hubspot")["deals"]
    assert lead.kind is RecordKind.LEAD and lead.fields["score"] == "Lead_Score__c"
    assert lead.fields["stage"] == "Status"
    assert contacts.fields["inquiry"] == "inquiry_submitted" and "lead_status" not in contacts.fields
    assert deals.fields["loss_reason"] == "closed_lost_reason"
    assert deals.fields["stage_changed_date"] == "hs_v2_date_entered_current_stage"
    assert "Contact" not in config.enabled_objects("salesforce")
    assert config.database_url.get_secret_value() == DEFAULT_DATABASE_URL
    assert config.hubspot is not None and config.hubspot.limits.search.requests == 4


def test_default_mappings_are_the_connectors_own(minimal: Path) -> None:
    """One source: every default object equals the connector's default mapping (kind and fields)."""
    config = load_config(minimal, env={})
    assert config.salesforce is not None and config.hubspot is not None
    expected = [
        (config.salesforce, {**salesforce_settings.default_objects(), "Contact": salesforce_settings.CONTACT_MAPPING}),
        (config.hubspot, hubspot_settings.default_objects()),
    ]

    for connection, mappings in expected:
        assert set(connection.objects) == set(mappings)
        for name, mapping in mappings.items():
            assert (connection.objects[name].kind, connection.objects[name].fields) == (mapping.kind, mapping.fields)
    assert not config.salesforce.objects["Contact"].enabled


def test_mappings_merge_over_defaults_and_null_unmaps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        salesforce:
          instance_url: https://acme.my.salesforce.com
          username: u
          objects:
            Lead:
              fields: {score: Acme_Score__c, segment: null}
            Opportunity: {enabled: false}
            Acme_Deal__c:
              kind: opportunity
              fields: {stage: Stage__c}
    """,
    )

    objects = load_config(path, env={}).enabled_objects("salesforce")

    assert objects["Lead"].fields["score"] == "Acme_Score__c"
    assert "segment" not in objects["Lead"].fields and objects["Lead"].fields["email"] == "Email"
    assert "Opportunity" not in objects
    assert objects["Acme_Deal__c"].fields == {"stage": "Stage__c"}


def test_config_file_comes_from_argument_then_env_then_cwd(
    tmp_path: Path, minimal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write(tmp_path, "hold_period: 3d\n", name="other.yaml")
    monkeypatch.chdir(tmp_path)

    assert load_config(env={}).source == Path("baton.yaml")
    assert load_config(env={"BATON_CONFIG": str(other)}).hold_period == timedelta(days=3)
    assert load_config(minimal, env={"BATON_CONFIG": str(other)}).hold_period == timedelta(days=7)


def test_references_defaults_and_escapes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        redis_url: redis://${REDIS_HOST:-127.0.0.1}:${REDIS_PORT}/3
        database_url: postgresql+psycopg://baton:${DB_PASSWORD}@db.internal:5432/baton
        rules:
          file: /opt/rules/$${not-a-ref}.yaml
    """,
    )

    config = load_config(path, env={"REDIS_PORT": "6380", "DB_PASSWORD": "pg-Secret-9"})

    assert config.secret(config.redis_url) == "redis://127.0.0.1:6380/3"
    assert (
        config.secret(config.database_url) == "postgresql+psycopg://baton:pg-Secret-9@db.internal:5432/baton"
    )
    assert str(config.rules.file) == "/opt/rules/${not-a-ref}.yaml"


def test_standard_variables_win_over_the_file(minimal: Path) -> None:
    path = minimal.parent / "with-urls.yaml"
    path.write_text(minimal.read_text() + "database_url: sqlite:///from-file.db\nadmin_token: ${MY_TOKEN}\n")

    config = load_config(
        path, env={"BATON_DATABASE_URL": "sqlite:///from-env.db", "MY_TOKEN": "a", "BATON_ADMIN_TOKEN": "b"}
    )

    assert config.secret(config.database_url) == "sqlite:///from-env.db"
    assert config.secret(config.admin_token) == "b"


def test_missing_secrets_are_named_by_variable(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        admin_token: ${ACME_ADMIN_TOKEN}
        salesforce:
          instance_url: https://acme.my.salesforce.com
          auth: session
        hubspot: {}
    """,
    )

    missing = {m.env: m for m in load_config(path, env={}).missing_secrets()}

    assert set(missing) == {
        "ACME_ADMIN_TOKEN",
        "BATON_SALESFORCE_SESSION_ID",
        "BATON_SALESFORCE_FLOW_SECRET",
        "BATON_HUBSPOT_ACCESS_TOKEN",
        "BATON_HUBSPOT_CLIENT_SECRET",
    }
    assert missing["BATON_SALESFORCE_SESSION_ID"].required and not missing["ACME_ADMIN_TOKEN"].required


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 604800),
        ("1d12h", 129600),
        ("90m", 5400),
        ("45s", 45),
        ("2w", 1209600),
        (300, 300),
        ("300", 300),
        ("1.5h", 5400),
    ],
)
def test_durations(text: object, seconds: int) -> None:
    parsed = parse_duration(text)

    assert parsed == timedelta(seconds=seconds)
    assert parse_duration(format_duration(parsed)) == parsed


@pytest.mark.parametrize("text", ["7x", "", "d", "7 days", "-1d", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def sandbox_info(tmp_path: Path) -> dict[str, dict[str, str]]:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    return {
        "salesforce": {
            "instance_url": "https://127.0.0.1:40111",
            "username": "admin@baton.sandbox",
            "password": "sbx-Pass-1",
            "security_token": "sbx-Token-2",
            "session_id": "00Dsbx!Session-3",
            "ca_cert": str(ca),
        },
        "hubspot": {
            "host": "https://127.0.0.1:40222",
            "access_token": "pat-sbx-4",
            "client_secret": "sbx-Client-5",
            "ca_cert": str(ca),
        },
    }


def test_sandbox_defaults_need_no_file(tmp_path: Path) -> None:
    info = sandbox_info(tmp_path)

    config = default_config_for_sandboxes(info, redis_url="redis://127.0.0.1:6379/9")

    assert config.salesforce is not None and config.hubspot is not None
    assert (
        config.salesforce.auth == "password" and config.salesforce.instance_url == "https://127.0.0.1:40111"
    )
    assert config.secret(config.salesforce.session_id) == "00Dsbx!Session-3"
    assert config.secret(config.hubspot.access_token) == "pat-sbx-4"
    assert config.hubspot.ca_cert == Path(info["hubspot"]["ca_cert"])
    assert set(config.enabled_objects("hubspot")) == {"contacts", "deals", "companies"}
    assert config.missing_secrets() == [
        m for m in config.missing_secrets() if m.path in ("admin_token", "salesforce.flow_secret")
    ]
    text = repr(config) + str(config) + config.model_dump_json()
    assert not [
        s for s in ("sbx-Pass-1", "sbx-Token-2", "Session-3", "pat-sbx-4", "sbx-Client-5") if s in text
    ]


def test_sandbox_defaults_use_the_session_without_a_password(tmp_path: Path) -> None:
    info = sandbox_info(tmp_path)
    del info["salesforce"]["password"]

    config = default_config_for_sandboxes(info)

    assert config.salesforce is not None and config.salesforce.auth == "session"


def test_bad_sandbox_info_is_a_config_error_without_secrets(tmp_path: Path) -> None:
    info = sandbox_info(tmp_path)
    info["salesforce"]["instance_url"] = "ftp://nowhere"

    with pytest.raises(ConfigError) as caught:
        default_config_for_sandboxes(info)

    assert "salesforce.instance_url" in str(caught.value)
    assert "sbx-Pass-1" not in str(caught.value)


def test_an_unset_database_url_reference_is_an_error_not_a_silent_sqlite(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: ${ACME_DATABASE_URL}\n")

    with pytest.raises(ConfigError, match="ACME_DATABASE_URL is not set"):
        load_config(path, env={})
    config = load_config(path, env={"BATON_DATABASE_URL": "sqlite:///x.db"})
    assert config.secret(config.database_url) == "sqlite:///x.db"


def test_an_unset_secret_reference_is_a_missing_secret(tmp_path: Path) -> None:
    path = write(tmp_path, "hubspot:\n  access_token: ${ACME_HS_TOKEN}\n")

    config = load_config(path, env={})

    assert config.hubspot is not None and config.hubspot.access_token is None
    assert [m.env for m in config.missing_secrets() if m.required] == ["ACME_HS_TOKEN"]
