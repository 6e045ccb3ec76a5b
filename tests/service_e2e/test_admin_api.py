"""The admin API on the real services: token auth, status, syncs, rules versions, record history."""
from __future__ import annotations

import requests

from rules.load import PLAYBOOKS
from tests.service_e2e.conftest import Live, wait_for

YAML = {"Content-Type": "application/yaml"}


def test_the_admin_api_refuses_missing_or_wrong_tokens(live: Live) -> None:
    for path in ("/api/v1/queues", "/api/v1/syncs", "/api/v1/rules", "/api/v1/jobs/failed"):
        missing = requests.get(f"{live.service.url}{path}", timeout=10)
        wrong = requests.get(f"{live.service.url}{path}", timeout=10,
                             headers={"Authorization": f"Bearer {live.service.admin_token}x"})
        for answer in (missing, wrong):
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert live.service.admin_token not in answer.text
    refused = requests.post(f"{live.service.url}/api/v1/syncs", json={"crm": "hubspot"}, timeout=10)
    assert refused.status_code == 401 and live.queued_jobs() == 0


def test_status_endpoints_report_the_real_queues_and_budgets(live: Live) -> None:
    assert requests.get(f"{live.service.url}/readyz", timeout=10).json()["status"] == "ready"
    queues = live.service.admin("GET", "/api/v1/queues").json()["queues"]
    assert {q["name"] for q in queues} == {"baton:sync", "baton:evaluate", "baton:writeback"}
    assert all(q["workers"] == 2 for q in queues)
    budgets = live.service.admin("GET", "/api/v1/rate-limits").json()["budgets"]
    assert {b["crm"] for b in budgets} == {"hubspot", "salesforce"}
    assert all(0 <= b["remaining"] <= b["limit"] for b in budgets)


def test_a_sync_started_through_the_api_runs_on_the_workers(live: Live) -> None:
    live.wait_idle()
    answer = live.service.admin("POST", "/api/v1/syncs", json={"crm": "hubspot", "object": "deals"})
    assert answer.status_code == 202
    assert answer.json()["jobs"] == ["sync-hubspot-deals-incremental"]
    live.wait_idle()
    unknown = live.service.admin("POST", "/api/v1/syncs", json={"crm": "hubspot", "object": "tickets"})
    assert unknown.status_code == 400 and "tickets" in unknown.json()["reason"]


def test_rules_versions_a_rejected_file_leaves_the_active_one(live: Live) -> None:
    model = (PLAYBOOKS / "the-model.yaml").read_text()
    first = live.service.admin("POST", "/api/v1/rules?activate=true&filename=model.yaml", data=model, headers=YAML)
    assert first.status_code == 201 and first.json()["version"]["active"] is True
    broken = model.replace("kinds:", "kindz:", 1)
    rejected = live.service.admin("POST", "/api/v1/rules?activate=true&filename=broken.yaml", data=broken,
                                  headers=YAML)
    assert rejected.status_code == 422
    assert rejected.json()["problems"][0]["file"] == "broken.yaml"
    second = live.service.admin("POST", "/api/v1/rules?filename=model-80.yaml",
                                data=model.replace("qualify_score: 100", "qualify_score: 80"), headers=YAML)
    assert second.status_code == 201 and second.json()["version"]["active"] is False
    versions = live.service.admin("GET", "/api/v1/rules").json()["versions"]
    assert [(v["filename"], v["active"]) for v in versions][:2] == [("model-80.yaml", False), ("model.yaml", True)]
    number = versions[0]["version"]
    assert live.service.admin("POST", f"/api/v1/rules/{number}/activate").json()["version"]["active"] is True
    assert live.service.admin("POST", "/api/v1/rules/999/activate").status_code == 404
    assert live.ctx.store.active_rules_version().name == "model-80.yaml"
    # Activation changes what the workers run: put the playbook back for the tests that follow.
    original = versions[1]["version"]
    assert live.service.admin("POST", f"/api/v1/rules/{original}/activate").json()["version"]["active"] is True
    assert live.ctx.store.active_rules_version().name == "model.yaml"


def test_a_record_comes_with_its_decision_history_and_explanations(live: Live) -> None:
    decision = live.ctx.store.run_decisions(live.first_run_id)[0]
    path = f"/api/v1/records/{decision.crm}/{decision.object}/{decision.record_id}"
    record = live.service.admin("GET", path).json()["record"]
    assert record["snapshot"]["raw"]
    first = record["decisions"][-1]
    assert first["decision_id"] == decision.decision_id
    assert first["explanation"]["decision"]["rule_id"] == decision.rule_id
    assert first["events"][0]["status"] == "planned"
    assert live.service.admin("GET", f"/api/v1/records/{decision.crm}/{decision.object}/nope").status_code == 404


def test_failed_jobs_are_listed_with_their_reason_and_can_be_retried(live: Live) -> None:
    from app.pipeline.webhook_sync import webhook_job
    from app.queueing import EVALUATE_QUEUE, enqueue_unique, get_queue

    live.wait_idle()
    # A job about an object the configuration does not have fails for good on the worker.
    enqueue_unique(get_queue(EVALUATE_QUEUE, live.redis), webhook_job, job_id="e2e-doomed",
                   args=("hubspot", "tickets", ["1"], "e2e-doomed-run"))
    failed = wait_for(lambda: [j for j in live.service.admin("GET", "/api/v1/jobs/failed").json()["jobs"]
                               if j["id"] == "e2e-doomed"], "the job to fail")
    assert failed[0]["queue"] == "baton:evaluate" and "tickets" in failed[0]["reason"]
    assert live.service.admin("POST", "/api/v1/jobs/failed/e2e-doomed/retry").status_code == 202
    assert live.service.admin("POST", "/api/v1/jobs/failed/no-such-job/retry").status_code == 404
    wait_for(lambda: any(j["id"] == "e2e-doomed" for j in live.service.admin("GET", "/api/v1/jobs/failed").json()["jobs"]),
             "the retried job to fail again")


def test_a_dry_run_sync_reads_and_decides_but_writes_nothing(live: Live) -> None:
    live.wait_idle()
    decisions_before = len(live.ctx.store.pending_decisions("hubspot", "deals"))
    answer = live.service.admin("POST", "/api/v1/syncs", json={"crm": "hubspot", "object": "deals", "dry_run": True})
    assert answer.status_code == 202 and answer.json()["jobs"] == ["sync-hubspot-deals-dry_run"]
    live.wait_idle()
    syncs = live.service.admin("GET", "/api/v1/syncs").json()["syncs"]
    dry = [s for s in syncs if s.get("mode") == "dry_run" and s["object"] == "deals"]
    assert dry and dry[0]["state"] == "succeeded" and dry[0]["counts"]["read"] > 0
    assert len(live.ctx.store.pending_decisions("hubspot", "deals")) == decisions_before
