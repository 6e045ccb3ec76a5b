"""The admin API under /api/v1: token auth, syncs, jobs, rules versions, dry runs, records."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

import rules
from app.web import create_app
from app.web.rules_check import validate_rules_text
from app.web.services import InProcessServices
from tests.web.conftest import ADMIN_TOKEN, BASE_CONFIG, AppFactory

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
YAML = {"Content-Type": "application/yaml"}
VALID_RULES = "baton: 1\nname: model\nkinds:\n  lead:\n    stages: [awareness]\n"
INVALID_RULES = "baton: 1\nname: model\nkinds:\n  lead: [unclosed\n"

ROUTES = [
    ("GET", "/api/v1/syncs"),
    ("POST", "/api/v1/syncs"),
    ("GET", "/api/v1/queues"),
    ("GET", "/api/v1/jobs/failed"),
    ("POST", "/api/v1/jobs/failed/j1/retry"),
    ("GET", "/api/v1/rate-limits"),
    ("GET", "/api/v1/rules"),
    ("POST", "/api/v1/rules"),
    ("POST", "/api/v1/rules/1/activate"),
    ("POST", "/api/v1/rules/dry-run"),
    ("GET", "/api/v1/records/hubspot/contacts/101"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer ", f"Bearer {ADMIN_TOKEN}x"]
)
def test_missing_or_wrong_token_gets_401(
    client: FlaskClient, services: InProcessServices, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.open(path, method=method, headers=headers, json={"crm": "hubspot"})
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized" and response.headers["WWW-Authenticate"].startswith(
        "Bearer"
    )
    assert ADMIN_TOKEN not in response.get_data(as_text=True)
    assert services.syncs == [] and services.list_rules_versions() == []


def test_right_token_is_accepted_on_every_read(client: FlaskClient) -> None:
    for path in (
        "/api/v1/syncs",
        "/api/v1/queues",
        "/api/v1/jobs/failed",
        "/api/v1/rate-limits",
        "/api/v1/rules",
    ):
        assert client.get(path, headers=AUTH).status_code == 200, path


def test_admin_api_is_closed_when_no_token_is_configured(make_app: AppFactory) -> None:
    client = make_app(BATON_ADMIN_TOKEN="").test_client()
    response = client.get("/api/v1/syncs", headers={"Authorization": "Bearer "})
    assert response.status_code == 401 and "BATON_ADMIN_TOKEN" in response.json["reason"]
    assert client.get("/api/v1/syncs", headers={"Authorization": "Bearer anything"}).status_code == 401


def test_tokens_never_reach_the_log(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/syncs", headers={"Authorization": "Bearer guess-1234"})
    client.get("/api/v1/syncs", headers=AUTH)
    assert "wrong token" in caplog.text
    assert "guess-1234" not in caplog.text and ADMIN_TOKEN not in caplog.text


def test_start_sync_queues_jobs(client: FlaskClient, services: InProcessServices) -> None:
    response = client.post(
        "/api/v1/syncs", headers=AUTH, json={"crm": "salesforce", "object": "Lead", "full": True}
    )
    assert response.status_code == 202 and response.json["jobs"] == ["sync-salesforce-Lead-1"]
    assert services.syncs[0] == {
        "job_id": "sync-salesforce-Lead-1",
        "crm": "salesforce",
        "object": "Lead",
        "full": True,
        "dry_run": False,
        "state": "queued",
    }
    every = client.post("/api/v1/syncs", headers=AUTH, json={"crm": "hubspot"})
    assert len(every.json["jobs"]) == 3
    listed = client.get("/api/v1/syncs", headers=AUTH).json["syncs"]
    assert [s["crm"] for s in listed] == ["hubspot"] * 3 + ["salesforce"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"crm": "pipedrive"}, "'crm' must be one of"),
        ({"crm": "hubspot", "full": "yes"}, "'full' must be true or false"),
        ({"crm": "hubspot", "object": 5}, "'object'"),
        ({"crm": "hubspot", "object": "tickets"}, "does not sync hubspot object 'tickets'"),
        (None, "JSON object"),
    ],
)
def test_bad_sync_request_gets_400(
    client: FlaskClient, services: InProcessServices, body: object, reason: str
) -> None:
    response = (
        client.post("/api/v1/syncs", headers=AUTH, json=body)
        if body is not None
        else client.post("/api/v1/syncs", headers=AUTH, data="x")
    )
    assert response.status_code == 400 and reason in response.json["reason"]
    assert services.syncs == []


def test_failed_job_retry(client: FlaskClient, services: InProcessServices) -> None:
    services.failed["job-9"] = {"id": "job-9", "queue": "writeback", "reason": "FatalError: 400"}
    assert client.get("/api/v1/jobs/failed", headers=AUTH).json["jobs"][0]["id"] == "job-9"
    response = client.post("/api/v1/jobs/failed/job-9/retry", headers=AUTH)
    assert response.status_code == 202 and services.retried == ["job-9"]
    again = client.post("/api/v1/jobs/failed/job-9/retry", headers=AUTH)
    assert again.status_code == 404 and "job-9" in again.json["reason"]


def upload(client: FlaskClient, text: str, activate: bool = False) -> TestResponse:
    query = "?activate=true&filename=model.yaml" if activate else "?filename=model.yaml"
    return client.post(f"/api/v1/rules{query}", headers={**AUTH, **YAML}, data=text.encode())


def test_upload_then_activate_a_rules_version(client: FlaskClient, services: InProcessServices) -> None:
    response = upload(client, VALID_RULES)
    assert response.status_code == 201
    version = response.json["version"]
    assert (version["version"], version["filename"], version["active"]) == (1, "model.yaml", False)
    assert services.active_rules_text() is None
    activated = client.post("/api/v1/rules/1/activate", headers=AUTH)
    assert activated.status_code == 200 and activated.json["version"]["active"] is True
    assert services.active_rules_text() == VALID_RULES


def test_invalid_rules_file_leaves_the_active_version_in_place(
    client: FlaskClient, services: InProcessServices
) -> None:
    assert upload(client, VALID_RULES, activate=True).status_code == 201
    response = upload(client, INVALID_RULES, activate=True)
    assert response.status_code == 422
    assert "active rules are unchanged" in response.json["reason"]
    problem = response.json["problems"][0]
    assert problem["text"].startswith("model.yaml:5:1: ")
    assert (problem["file"], problem["line"]) == ("model.yaml", 5)
    versions = client.get("/api/v1/rules", headers=AUTH).json["versions"]
    assert [(v["version"], v["active"]) for v in versions] == [(1, True)]
    assert services.active_rules_text() == VALID_RULES


def test_every_version_is_kept(client: FlaskClient) -> None:
    for n in range(3):
        upload(client, VALID_RULES + f"# revision {n}\n", activate=True)
    versions = client.get("/api/v1/rules", headers=AUTH).json["versions"]
    assert [(v["version"], v["active"]) for v in versions] == [(3, True), (2, False), (1, False)]


def test_multipart_upload(client: FlaskClient) -> None:
    data = {"file": (io.BytesIO(VALID_RULES.encode()), "../../etc/My Rules.yaml")}
    response = client.post("/api/v1/rules", headers=AUTH, data=data, content_type="multipart/form-data")
    assert response.status_code == 201 and response.json["version"]["filename"] == "My_Rules.yaml"


@pytest.mark.parametrize(
    ("content_type", "data", "reason"),
    [
        ("application/yaml", b"   \n", "empty"),
        ("application/yaml", b"\xff\xfe\x00", "UTF-8"),
        ("application/json", b"{}", "multipart/form-data"),
        ("multipart/form-data; boundary=x", b"--x--\r\n", "field 'file'"),
    ],
)
def test_bad_upload_gets_400(client: FlaskClient, content_type: str, data: bytes, reason: str) -> None:
    response = client.post("/api/v1/rules", headers={**AUTH, "Content-Type": content_type}, data=data)
    assert response.status_code == 400 and reason in response.json["reason"]


def test_activating_an_unknown_version_is_404(client: FlaskClient) -> None:
    response = client.post("/api/v1/rules/7/activate", headers=AUTH)
    assert response.status_code == 404 and "7" in response.json["reason"]


def test_dry_run_returns_the_report_or_the_problems(client: FlaskClient, services: InProcessServices) -> None:
    ok = client.post("/api/v1/rules/dry-run?filename=t.yaml", headers={**AUTH, **YAML}, data=VALID_RULES)
    assert ok.status_code == 200 and ok.json["report"]["filename"] == "t.yaml"
    bad = client.post("/api/v1/rules/dry-run?filename=t.yaml", headers={**AUTH, **YAML}, data=INVALID_RULES)
    assert bad.status_code == 422 and bad.json["problems"][0]["text"].startswith("t.yaml:5:")
    assert services.list_rules_versions() == []  # a dry run stores nothing


def test_record_history(client: FlaskClient, services: InProcessServices) -> None:
    missing = client.get("/api/v1/records/hubspot/contacts/101", headers=AUTH)
    assert missing.status_code == 404 and "hubspot/contacts/101" in missing.json["reason"]
    services.histories[("hubspot", "contacts", "101")] = {
        "snapshot": {"stage": "qualified"},
        "decisions": [{"rule": "mql", "why": "score >= 100"}],
    }
    found = client.get("/api/v1/records/hubspot/contacts/101", headers=AUTH)
    assert found.status_code == 200 and found.json["record"]["decisions"][0]["rule"] == "mql"
    assert client.get("/api/v1/records/zoho/contacts/101", headers=AUTH).status_code == 400


def test_rules_versions_with_the_rules_package_validation(redis: Redis) -> None:
    """The same flow with the real validator (``rules`` package) and The Model playbook."""
    playbook = (Path(rules.__file__).parent / "playbooks" / "the-model.yaml").read_text()
    services = InProcessServices(validate_rules=validate_rules_text, redis=redis)
    client = create_app(BASE_CONFIG, services=services, redis=redis).test_client()
    headers = {**AUTH, **YAML}
    good = client.post("/api/v1/rules?activate=true&filename=the-model.yaml", headers=headers, data=playbook)
    assert good.status_code == 201 and good.json["version"]["active"] is True
    broken = playbook.replace("qualify_score: 100", "qualify_score: lots")
    bad = client.post("/api/v1/rules?activate=true&filename=the-model.yaml", headers=headers, data=broken)
    assert bad.status_code == 422
    assert bad.json["problems"][0]["text"].startswith("the-model.yaml:10:18: threshold 'qualify_score'")
    assert services.active_rules_text() == playbook
    assert [v.version for v in services.list_rules_versions()] == [1]
