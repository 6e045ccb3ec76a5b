"""The dry run of a rules change predicts exactly what a real run with those rules then writes."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import requests

from app.demo.webhooks_phase import subscribe
from app.pipeline.context import PipelineContext
from app.pipeline.runner import targets_for
from app.pipeline.steps import StepResult, evaluate_records, write_back
from app.pipeline.webhook_sync import fetch_and_store
from app.store import DecisionStatus, new_id
from rules.load import PLAYBOOKS, load_ruleset
from tests.service_e2e.conftest import Live

YAML = {"Content-Type": "application/yaml"}
#: A lower score threshold qualifies leads that scored between it and 100 (this seed has some);
#: the phase 1 exit criterion on need_confirmed instead of solution_fit moves deals both ways.
LOWER_THRESHOLD = 40


def _unsubscribe(live: Live) -> None:
    sf = live.info["salesforce"]
    requests.delete(f"{live.info['hubspot']['host']}/_sandbox/webhooks", timeout=10).raise_for_status()
    requests.delete(f"{sf['instance_url']}/_sandbox/outbound", verify=sf["ca_cert"], timeout=10).raise_for_status()


def _real_run(live: Live, rules_file: Path) -> list:
    """Read every record fresh from the CRM, decide with ``rules_file`` and write back (in this
    process: the workers run the configured rules)."""
    ctx = PipelineContext(live.config, live.redis, rules=load_ruleset(rules_file))
    run_id = new_id()
    try:
        for crm, object_name in targets_for(ctx):
            ids = [s.id for page in ctx.store.iter_snapshots(crm=crm, object=object_name) for s in page]
            records = fetch_and_store(ctx, crm, object_name, ids, StepResult())
            decided = evaluate_records(ctx, crm, object_name, records, run_id=run_id)
            for start in range(0, len(decided.decision_ids), 50):
                write_back(ctx, crm, object_name, decided.decision_ids[start:start + 50])
        return ctx.store.run_decisions(run_id, status=DecisionStatus.WRITTEN)
    finally:
        ctx.close()


def test_the_dry_run_matrix_matches_what_a_real_run_then_writes(live: Live, tmp_path: Path) -> None:
    _unsubscribe(live)                      # the real run's writes must not come back as webhooks
    live.wait_idle()
    model = (PLAYBOOKS / "the-model.yaml").read_text()
    text = model.replace("qualify_score: 100", f"qualify_score: {LOWER_THRESHOLD}")
    assert text != model, "the playbook no longer has `qualify_score: 100`: update this test"
    text, before = text.replace("{id: solution_fit, when: {field: solution_fit",
                                "{id: solution_fit, when: {field: need_confirmed"), text
    assert text != before, "the playbook's phase 1 criterion changed: update this test"
    answer = live.service.admin("POST", "/api/v1/rules/dry-run?filename=lower.yaml", data=text, headers=YAML)
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    predicted = {(t["kind"], t["from"], t["to"]): (t["count"], t["amount"]) for t in report["transitions"]}
    assert predicted, "the lower threshold should move some records on this seed"
    assert any(to == "qualified" for _, _, to in predicted)
    assert any(kind == "opportunity" and amount for (kind, _, _), (_, amount) in predicted.items())
    assert all(d["changes"] for d in report["diffs"])

    rules_file = tmp_path / "lower.yaml"
    rules_file.write_text(text)
    written = _real_run(live, rules_file)
    counts: Counter[tuple[str, str, str]] = Counter()
    amounts: dict[tuple[str, str, str], float] = defaultdict(float)
    for decision in written:
        if decision.from_stage != decision.to_stage:
            key = (decision.kind, decision.from_stage, decision.to_stage)
            counts[key] += 1
            snapshot = live.ctx.store.get_snapshots(decision.crm, decision.object, [decision.record_id])
            amounts[key] += float(snapshot[decision.record_id].fields.get("amount") or 0)
    assert {k: (c, round(amounts[k], 2)) for k, c in counts.items()} == \
        {k: (c, round(float(a), 2)) for k, (c, a) in predicted.items()}
    subscribe(live.info, live.service, backoff_scale=0.001, batch_ms=20)


def test_an_invalid_rules_file_is_refused_by_the_dry_run(live: Live) -> None:
    answer = live.service.admin("POST", "/api/v1/rules/dry-run?filename=bad.yaml",
                                data="kinds:\n  leed: {}\n", headers=YAML)
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["text"].startswith("bad.yaml:")


def test_baton_rules_plan_prints_the_same_plan_as_the_api(live: Live, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from app.commands.rules_plan import rules

    text = (PLAYBOOKS / "the-model.yaml").read_text().replace("qualify_score: 100", "qualify_score: 60")
    rules_file = tmp_path / "sixty.yaml"
    rules_file.write_text(text)
    runner = CliRunner()
    as_json = runner.invoke(rules, ["plan", str(rules_file), "--config", str(live.config_path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    api = live.service.admin("POST", f"/api/v1/rules/dry-run?filename={rules_file}", data=text, headers=YAML)
    assert json.loads(as_json.output)["transitions"] == api.json()["report"]["transitions"]
    tables = runner.invoke(rules, ["plan", str(rules_file), "--config", str(live.config_path), "--limit", "3"])
    assert tables.exit_code == 0 and "by count" in tables.output and "Per-record changes (first 3" in tables.output

    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("kinds:", "kindz:", 1))
    refused = runner.invoke(rules, ["plan", str(broken), "--config", str(live.config_path)])
    assert refused.exit_code == 2
    assert f"{broken}:" in refused.output and "Traceback" not in refused.output
