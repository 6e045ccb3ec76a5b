"""The Model playbook written by hand in plain Python: the practical limit for any engine.

Written from rules/playbooks/the-model.yaml (thresholds and signals copied as constants), with the
same normalisation rules as :mod:`rules.normalise`. It returns the core of a decision,
``(record_id, rule_id, to_stage, score, probability)``, not a full Decision object; the bench
compares every engine on that core. It follows the playbook of ruleset version sha256:f28f737639052ec9;
when the playbook changes, the bench's "identical" column says NO until this is updated.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from math import floor
from typing import Any

from rules.ir import EPOCH_ORDINAL, days_since_epoch
from rules.normalise import to_bool, to_days, to_number, to_string

Core = tuple[str, Any, Any, Any, Any]

LEAD_STAGES = frozenset({"awareness", "lead_acquired", "nurturing", "qualified", "accepted", "disqualified",
                         "converted"})
OPPORTUNITY_PROBABILITY = {"phase_1": 0, "phase_2": 25, "phase_3": 30, "phase_4": 50, "phase_5": 75,
                           "closed_won": 100, "closed_lost": 0}
SENIOR = ("chief", "vp", "vice president", "director", "head of")
FREE_MAIL = ("@gmail.com", "@yahoo.com", "@hotmail.com")
TARGET_INDUSTRIES = frozenset({"Software", "Manufacturing", "Financial Services"})
EARLY = frozenset({"awareness", "lead_acquired", "nurturing"})


def _num(value: Any) -> Any:
    return value if value.__class__ is int else to_number(value)


def _flag(value: Any) -> Any:
    return value if value.__class__ is bool else to_bool(value)


def _text(value: Any) -> Any:
    return value if (value.__class__ is str and value and not value.isspace()) else to_string(value)


def _days(value: Any) -> Any:
    return value.toordinal() - EPOCH_ORDINAL if value.__class__ is date else to_days(value)


def lead_score(r: Mapping[str, Any], activity_age: Any) -> int:
    clicks, visits, pages = _num(r.get("email_clicks")), _num(r.get("web_visits")), _num(r.get("product_page_visits"))
    engagement = 0
    if clicks is not None:
        engagement += (5 if clicks >= 1 else 0) + (10 if clicks >= 5 else 0)
    if visits is not None:
        engagement += (5 if visits >= 3 else 0) + (10 if visits >= 10 else 0)
    if pages is not None:
        engagement += (15 if pages >= 1 else 0) + (15 if pages >= 5 else 0)
    if _flag(r.get("seminar_attended")) is True:
        engagement += 30
    engagement = min(engagement, 80)
    if engagement > 0 and activity_age is not None and activity_age - 7 > 0:
        engagement = max(0, engagement - 10 * ((activity_age - 7) // 7))
    fit = 0
    title = _text(r.get("title"))
    if title is not None:
        lowered = title.lower()
        fit += (25 if any(word in lowered for word in SENIOR) else 0) + (10 if "manager" in lowered else 0)
    if _text(r.get("industry")) in TARGET_INDUSTRIES:
        fit += 15
    size = _num(r.get("company_size"))
    if size is not None:
        fit += (10 if size >= 50 else 0) + (10 if size >= 1000 else 0)
    email = _text(r.get("email"))
    if email is not None and email.lower().endswith(FREE_MAIL):
        fit -= 20
    return floor(max(0, engagement + min(fit, 60)) + 0.5)


def lead(r: Mapping[str, Any], now_days: int) -> Core:
    record_id = str(r.get("id"))
    stage = r.get("stage")
    stage = stage if (stage.__class__ is str and stage in LEAD_STAGES) else None
    if stage == "converted":
        return record_id, None, stage, None, None
    activity = _days(r.get("last_activity_date"))
    activity_age = None if activity is None else now_days - activity
    score = lead_score(r, activity_age)
    changed = _days(r.get("stage_changed_date"))
    changed_age = None if changed is None else now_days - changed
    email = _text(r.get("email"))
    reason = _text(r.get("disqualified_reason"))
    no_response = _flag(r.get("no_response")) is True
    if stage in ("awareness", "lead_acquired", "nurturing", "qualified", "accepted") and reason is not None:
        return record_id, "disqualify", "disqualified", score, None
    if stage in ("qualified", "accepted") and no_response:
        return record_id, "recycle_no_response", "nurturing", score, None
    if stage == "qualified" and changed_age is not None and changed_age > 14:
        return record_id, "recycle_sla_breach", "nurturing", score, None
    if stage in ("qualified", "accepted") and activity_age is not None and activity_age > 90:
        return record_id, "recycle_no_activity", "nurturing", score, None
    if stage == "disqualified" and reason in ("timing", "no_budget", "not_now") and \
            changed_age is not None and changed_age >= 180:
        return record_id, "recycle_disqualified", "nurturing", score, None
    if stage in EARLY and email is not None:
        count = _num(r.get("recycle_count"))
        may_qualify = activity_age is not None and activity_age <= 30 and not no_response and (
            count is None or count < 1 or (changed_age is not None and changed_age >= 7))
        if may_qualify and (_flag(r.get("inquiry")) is True or _flag(r.get("catalogue_requested")) is True):
            return record_id, "qualify_hand_raiser", "qualified", score, None
        if may_qualify and score >= 100:
            return record_id, "qualify_score", "qualified", score, None
        if stage != "nurturing":
            clicks, pages = _num(r.get("email_clicks")), _num(r.get("product_page_visits"))
            if (clicks is not None and clicks >= 1) or (pages is not None and pages >= 1) or \
                    _flag(r.get("seminar_attended")) is True:
                return record_id, "start_nurturing", "nurturing", score, None
            if stage == "awareness":
                return record_id, "capture_lead", "lead_acquired", score, None
    return record_id, None, stage, score, None


def opportunity(r: Mapping[str, Any], now_days: int) -> Core:
    record_id = str(r.get("id"))
    stage = r.get("stage")
    stage = stage if (stage.__class__ is str and stage in OPPORTUNITY_PROBABILITY) else None
    rule, to = None, stage
    if stage == "closed_lost":
        count = _num(r.get("recycle_count"))
        if _text(r.get("loss_reason")) in ("timing", "no_budget", "no_decision") and (count is None or count < 1):
            rule = "recycle_lost_deal"
    elif stage == "phase_1":
        if _flag(r.get("solution_fit")) is True:
            rule, to = "phase_1_gate_advance", "phase_2"
    elif stage in ("phase_2", "phase_3", "phase_4", "phase_5"):      # closed_won is not gated
        bant = all(_flag(r.get(f)) is True for f in ("budget_confirmed", "authority_confirmed",
                                                      "need_confirmed", "timeline_confirmed"))
        if _flag(r.get("solution_fit")) is not True:
            rule, to = "phase_1_gate_revert", "phase_1"
        elif stage != "phase_2" and not bant:
            rule, to = "phase_2_gate_revert", "phase_2"
        elif stage == "phase_5" and _flag(r.get("approval_process_started")) is not True:
            rule, to = "phase_4_gate_revert", "phase_4"
        elif stage in ("phase_4", "phase_5") and not (
                _flag(r.get("champion_agreed")) is True and _flag(r.get("differentiation_established")) is True):
            rule = "phase_3_gate_advice"
    return record_id, rule, to, None, OPPORTUNITY_PROBABILITY.get(to or "")


def evaluate(kind: str, records: Sequence[Mapping[str, Any]], now: date) -> list[Core]:
    decide = lead if kind == "lead" else opportunity
    now_days = days_since_epoch(now)
    return [decide(record, now_days) for record in records]
