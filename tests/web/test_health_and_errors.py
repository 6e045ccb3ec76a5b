"""Health endpoints, JSON errors everywhere, request ids, and the application factory."""

from __future__ import annotations

import socket

import pytest
from flask.testing import FlaskClient
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.web import create_app
from app.web.rules_check import validate_rules_text
from app.web.services import InProcessServices
from app.web.settings import SettingsError
from tests.web.conftest import BASE_CONFIG


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_ready_with_real_redis(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["status"] == "ready"
    assert {c["name"] for c in response.json["checks"]} == {"database", "redis"}


def test_readyz_503_when_redis_is_down(redis: Redis) -> None:
    # No retries: redis-py 8 retries with backoff by default, which only slows the test down.
    dead = Redis(
        host="127.0.0.1",
        port=unused_port(),
        password="hunter2-secret",
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )
    services = InProcessServices(validate_rules=validate_rules_text, redis=dead)
    response = create_app(BASE_CONFIG, services=services, redis=redis).test_client().get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "not_ready"
    redis_check = next(c for c in response.json["checks"] if c["name"] == "redis")
    assert redis_check["ok"] is False and "hunter2" not in response.get_data(as_text=True)
    # Liveness does not depend on Redis.
    assert (
        create_app(BASE_CONFIG, services=services, redis=redis).test_client().get("/healthz").status_code
        == 200
    )


def test_readyz_503_when_the_database_is_down(client: FlaskClient, services: InProcessServices) -> None:
    services.database_ok = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert {"name": "database", "ok": False, "detail": "database not reachable"} in response.json["checks"]


def test_unknown_url_is_404_json(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.json["error"] == "not_found" and response.json["reason"]


def test_wrong_method_is_405_json(client: FlaskClient) -> None:
    response = client.delete("/api/v1/rules")
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"


def test_oversized_admin_upload_is_413_json(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/rules",
        data=b"a: 1\n" * 20000,
        headers={
            "Authorization": f"Bearer {BASE_CONFIG['BATON_ADMIN_TOKEN']}",
            "Content-Type": "application/yaml",
        },
    )
    assert response.status_code == 413 and response.json["error"] == "request_entity_too_large"


class ExplodingServices(InProcessServices):
    def queue_status(self) -> list[dict]:
        raise RuntimeError("postgresql://baton:pa55word@db/baton refused")


def test_unexpected_error_is_500_json_without_internals(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    services = ExplodingServices(validate_rules=validate_rules_text)
    app = create_app({**BASE_CONFIG, "TESTING": False}, services=services, redis=redis)
    response = app.test_client().get(
        "/api/v1/queues",
        headers={"Authorization": f"Bearer {BASE_CONFIG['BATON_ADMIN_TOKEN']}", "X-Request-Id": "req-42"},
    )
    assert response.status_code == 500 and response.json["error"] == "internal_server_error"
    assert "req-42" in response.json["reason"] and "pa55word" not in response.get_data(as_text=True)
    assert "req-42" in caplog.text  # the log has the details under the same id


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-1"}).headers["X-Request-Id"] == "abc-1"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id <script>"}).headers["X-Request-Id"]
    assert len(generated) == 32 and generated != "bad id <script>"


def test_factory_refuses_an_unknown_services_factory(redis: Redis) -> None:
    with pytest.raises(RuntimeError, match="BATON_SERVICES_FACTORY"):
        create_app({**BASE_CONFIG, "BATON_SERVICES_FACTORY": "nowhere.module:build"}, redis=redis)


def test_factory_builds_in_memory_services_on_request(redis: Redis) -> None:
    app = create_app({**BASE_CONFIG, "BATON_SERVICES_FACTORY": "memory"}, redis=redis)
    assert app.test_client().get("/readyz").status_code == 200


def test_factory_reads_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, redis: Redis) -> None:
    monkeypatch.setenv("BATON_ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("BATON_MAX_CONTENT_LENGTH", "1234")
    app = create_app({"BATON_SERVICES_FACTORY": "memory"}, redis=redis)
    assert app.config["BATON_ADMIN_TOKEN"] == "from-env" and app.config["MAX_CONTENT_LENGTH"] == 1234
    assert (
        app.test_client().get("/api/v1/queues", headers={"Authorization": "Bearer from-env"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"BATON_HUBSPOT_SIGNATURE_VERSIONS": "v4"}, "v1, v2, v3"),
        ({"BATON_PROXY_FIX": "x_forwarded=1"}, "BATON_PROXY_FIX"),
        ({"MAX_CONTENT_LENGTH": "big"}, "MAX_CONTENT_LENGTH"),
    ],
)
def test_bad_settings_name_the_setting(override: dict, message: str, redis: Redis) -> None:
    with pytest.raises(SettingsError, match=message):
        create_app(
            {**BASE_CONFIG, **override},
            services=InProcessServices(validate_rules=validate_rules_text),
            redis=redis,
        )


def test_rules_check_reports_yaml_errors_as_file_line_column() -> None:
    problems = validate_rules_text("kinds:\n  lead: [unclosed\n", "model.yaml")
    assert problems and str(problems[0]).startswith("model.yaml:3:1: ")


def test_rules_check_uses_the_rules_package_for_meaning() -> None:
    # YAML-valid but meaningless to the rules language: only the rules package can tell.
    problems = validate_rules_text("baton: 1\nname: x\nkinds:\n  leed: {}\n", "model.yaml")
    assert [(p.file, p.line) for p in problems] == [("model.yaml", 4)] and "leed" in problems[0].message


def test_settings_from_the_baton_configuration_file() -> None:
    from app.config_schema import BatonConfig
    from app.web.settings import settings_from_baton_config

    config = BatonConfig.model_validate(
        {
            "admin_token": "tok",
            "redis_url": "redis://127.0.0.1:6379/13",
            "hubspot": {"client_secret": "hs-secret", "access_token": "pat"},
            "salesforce": {
                "instance_url": "https://acme.my.salesforce.com",
                "auth": "session",
                "session_id": "s",
                "organization_id": "00D5e000000KQ2eEAG",
                "flow_secret": "flow-secret",
            },
        }
    )
    assert settings_from_baton_config(config) == {
        "BATON_ADMIN_TOKEN": "tok",
        "BATON_REDIS_URL": "redis://127.0.0.1:6379/13",
        "BATON_HUBSPOT_CLIENT_SECRET": "hs-secret",
        "BATON_SALESFORCE_ORGANIZATION_ID": "00D5e000000KQ2eEAG",
        "BATON_SALESFORCE_FLOW_SECRET": "flow-secret",
    }


def test_redis_url_falls_back_to_the_standard_variable() -> None:
    from app.web.settings import load_settings

    assert load_settings(None, {"REDIS_URL": "redis://h:1/2"})["BATON_REDIS_URL"] == "redis://h:1/2"
    both = {"REDIS_URL": "redis://h:1/2", "BATON_REDIS_URL": "redis://b:1/3"}
    assert load_settings(None, both)["BATON_REDIS_URL"] == "redis://b:1/3"
