"""The Model playbook and its cases file: every case passes and every rule is covered."""
from __future__ import annotations

from rules.casefile import load_cases, run_cases
from rules.load import PLAYBOOKS, the_model

CASES = str(PLAYBOOKS / "the-model.cases.yaml")


def test_every_playbook_case_passes() -> None:
    ruleset = the_model()
    cases = load_cases(CASES, ruleset)
    assert len(cases) >= 40
    failures = {r.case.name: r.failures for r in run_cases(ruleset, cases) if not r.passed}
    assert failures == {}


def test_cases_cover_every_rule_signal_and_gate_mode() -> None:
    ruleset = the_model()
    results = run_cases(ruleset, load_cases(CASES, ruleset))
    fired_rules = {r.decision.rule_id for r in results}
    fired_signals = {c.signal for r in results for c in r.decision.contributions}
    kinds = {r.decision.kind for r in results}
    for name in ("lead", "opportunity"):
        assert {rule.id for rule in ruleset.kind(name).rules} <= fired_rules
    assert {s.id for s in ruleset.kind("lead").scoring.signals} <= fired_signals
    assert {"none", "skip", "transition", "recycle", "gate_revert", "gate_advice", "gate_advance"} <= kinds
    assert {g.mode for g in ruleset.kind("opportunity").gates} == {"auto", "enforce", "advise"}


def test_playbook_uses_the_domain_contract() -> None:
    ruleset = the_model()
    lead, opportunity = ruleset.kind("lead"), ruleset.kind("opportunity")
    assert lead.stage_names == ("awareness", "lead_acquired", "nurturing", "qualified", "accepted",
                                "disqualified", "converted")
    assert [s.probability for s in opportunity.stages] == [0, 25, 30, 50, 75, 100, 0]
    assert ruleset.thresholds["qualify_score"] == 100
    assert lead.stage("converted").read_only
    assert opportunity.stage("closed_lost").crm["salesforce"][0] == {"StageName": "Closed Lost"}
