"""Settings of the HubSpot connector, with the domain contract's default field mappings."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from connectors.mapping import ObjectMapping
from connectors.records import RecordKind

# canonical field -> HubSpot property. ``stage`` is the raw ``lifecyclestage`` / ``dealstage`` value; the
# rules file translates stage values, and the pipeline also reads the other properties a stage needs
# (``hs_lead_status`` next to ``lifecyclestage``: nurturing = lead + IN_PROGRESS) as extra raw fields.
CONTACT_FIELDS: dict[str, str] = {
    "stage": "lifecyclestage", "email": "email", "title": "jobtitle",
    "industry": "industry", "company_size": "numemployees", "country": "country", "segment": "segment",
    "email_clicks": "email_clicks", "web_visits": "web_visits", "product_page_visits": "product_page_visits",
    "seminar_attended": "seminar_attended", "catalogue_requested": "catalogue_requested",
    "inquiry": "inquiry_submitted", "no_response": "no_response", "last_activity_date": "last_activity_date",
    "stage_changed_date": "stage_changed_date", "created_date": "createdate", "score": "baton_score",
    "recycle_count": "baton_recycle_count", "recycle_reason": "baton_recycle_reason",
    "disqualified_reason": "disqualified_reason",
}
DEAL_FIELDS: dict[str, str] = {
    "stage": "dealstage", "amount": "amount", "close_date": "closedate", "probability": "hs_deal_stage_probability",
    "segment": "segment", "budget_confirmed": "budget_confirmed", "authority_confirmed": "authority_confirmed",
    "need_confirmed": "need_confirmed", "timeline_confirmed": "timeline_confirmed", "solution_fit": "solution_fit",
    "champion_agreed": "champion_agreed", "differentiation_established": "differentiation_established",
    "approval_process_started": "approval_process_started", "close_plan_complete": "close_plan_complete",
    "loss_reason": "closed_lost_reason", "last_activity_date": "last_activity_date",
    "stage_changed_date": "hs_v2_date_entered_current_stage", "gate_violation": "gate_violation",
    "recycle_count": "baton_recycle_count",
}
COMPANY_FIELDS: dict[str, str] = {
    "name": "name", "industry": "industry", "employees": "numberofemployees", "segment": "segment",
    "annual_revenue": "annualrevenue",
}


def default_objects() -> dict[str, ObjectMapping]:
    return {
        "contacts": ObjectMapping("contacts", RecordKind.LEAD, dict(CONTACT_FIELDS)),
        "companies": ObjectMapping("companies", RecordKind.ACCOUNT, dict(COMPANY_FIELDS)),
        "deals": ObjectMapping("deals", RecordKind.OPPORTUNITY, dict(DEAL_FIELDS)),
    }


@dataclass(frozen=True)
class HubSpotSettings:
    """How to reach one HubSpot portal and what to sync.

    ``search_per_second`` paces searches client-side (HubSpot limits search separately, 4-5/s);
    None disables pacing. ``full_read`` picks the backfill path: "search" (200 records per call, the
    default: half the calls of "list") or "list" (100 per call, not subject to the search limit).
    """

    host: str = "https://api.hubapi.com"
    access_token: str = field(default="", repr=False)
    ca_cert: str | None = None
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    objects: dict[str, ObjectMapping] = field(default_factory=default_objects)
    search_page_size: int = 200
    search_per_second: float | None = 4.0
    full_read: str = "search"

    @classmethod
    def from_info(cls, info: dict[str, Any], **overrides: Any) -> HubSpotSettings:
        """From the ``hubspot`` entry printed by ``baton sandbox up`` (host, access_token, ca_cert)."""
        return replace(cls(host=info["host"], access_token=info["access_token"], ca_cert=info.get("ca_cert")),
                       **overrides)

    @classmethod
    def from_client_info(cls, info: dict[str, Any], **overrides: Any) -> HubSpotSettings:
        """Same as :meth:`from_info`, named like ``SalesforceSettings.from_client_info``."""
        return cls.from_info(info, **overrides)

    def __post_init__(self) -> None:
        if self.full_read not in ("search", "list"):
            raise ValueError(f"full_read must be 'search' or 'list', not {self.full_read!r}")
        if not 1 <= self.search_page_size <= 200:
            raise ValueError("search_page_size must be between 1 and 200 (HubSpot's search limit)")
