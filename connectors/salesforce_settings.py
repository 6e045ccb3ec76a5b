"""Configuration of the Salesforce connector, and the default field mappings of the domain contract."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.mapping import ObjectMapping
from connectors.records import RecordKind

LEAD_MAPPING = ObjectMapping("Lead", RecordKind.LEAD, {
    "stage": "Status", "email": "Email", "title": "Title", "industry": "Industry",
    "company_size": "NumberOfEmployees", "country": "Country", "segment": "Segment__c",
    "email_clicks": "Email_Clicks__c", "web_visits": "Web_Visits__c", "product_page_visits": "Product_Page_Visits__c",
    "seminar_attended": "Seminar_Attended__c", "catalogue_requested": "Catalogue_Requested__c",
    "inquiry": "Inquiry__c", "no_response": "No_Response__c", "last_activity_date": "Last_Activity_Date__c",
    "stage_changed_date": "Status_Changed_Date__c", "created_date": "CreatedDate", "score": "Lead_Score__c",
    "recycle_count": "Recycle_Count__c", "recycle_reason": "Recycle_Reason__c",
    "disqualified_reason": "Disqualified_Reason__c", "converted": "IsConverted",
}, read_only=frozenset({"IsConverted", "CreatedDate"}))

# Contacts are people too (kind lead) but carry no lead stage or scoring fields in this org; they are
# not synced unless configured (add CONTACT_MAPPING to ``objects``).
CONTACT_MAPPING = ObjectMapping("Contact", RecordKind.LEAD, {
    "email": "Email", "title": "Title", "country": "MailingCountry", "created_date": "CreatedDate",
}, read_only=frozenset({"CreatedDate"}))

ACCOUNT_MAPPING = ObjectMapping("Account", RecordKind.ACCOUNT, {
    "name": "Name", "industry": "Industry", "employees": "NumberOfEmployees", "segment": "Segment__c",
    "annual_revenue": "AnnualRevenue",
})

OPPORTUNITY_MAPPING = ObjectMapping("Opportunity", RecordKind.OPPORTUNITY, {
    "stage": "StageName", "amount": "Amount", "close_date": "CloseDate", "probability": "Probability",
    "segment": "Segment__c", "budget_confirmed": "Budget_Confirmed__c", "authority_confirmed": "Authority_Confirmed__c",
    "need_confirmed": "Need_Confirmed__c", "timeline_confirmed": "Timeline_Confirmed__c",
    "solution_fit": "Solution_Fit__c", "champion_agreed": "Champion_Agreed__c",
    "differentiation_established": "Differentiation_Established__c",
    "approval_process_started": "Approval_Process_Started__c", "close_plan_complete": "Close_Plan_Complete__c",
    "loss_reason": "Loss_Reason__c", "last_activity_date": "Last_Activity_Date__c",
    "stage_changed_date": "LastStageChangeDate", "gate_violation": "Gate_Violation__c",
    "recycle_count": "Recycle_Count__c",
}, read_only=frozenset({"LastStageChangeDate"}))


def default_objects() -> dict[str, ObjectMapping]:
    return {m.object: m for m in (LEAD_MAPPING, ACCOUNT_MAPPING, OPPORTUNITY_MAPPING)}


@dataclass(frozen=True)
class SalesforceSettings:
    """How to reach one org. Secrets are excluded from ``repr`` so they never reach a log line.

    ``auth``: ``session`` uses ``session_id`` (no login call; on expiry the connector logs in with
    the credentials below, if any); ``password`` is the SOAP login (username + password +
    security_token, the token may be empty inside trusted IP ranges); ``oauth`` is the OAuth2 password
    grant (username + password + consumer_key + consumer_secret); ``auto`` picks ``session`` when a
    session id is given, else ``password`` when a security token is, else ``oauth``.
    ``login_url`` sends the SDK's logins (always addressed to https://login|test.salesforce.com) to
    another host, e.g. the sandbox; ``ca_cert`` is the PEM bundle trusted for TLS.
    """

    instance_url: str
    auth: Literal["auto", "session", "password", "oauth"] = "auto"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    session_id: str | None = field(default=None, repr=False)
    consumer_key: str | None = field(default=None, repr=False)
    consumer_secret: str | None = field(default=None, repr=False)
    login_url: str | None = None
    domain: str = "login"
    ca_cert: str | None = None
    timeout_s: float = 30.0
    api_version: str = "59.0"
    query_batch_size: int = 2000      # Sforce-Query-Options batchSize (Salesforce clamps to 200..2000)
    write_batch_size: int = 200       # sObject Collections maximum
    fetch_batch_size: int = 200       # ids per WHERE Id IN (...) query
    objects: dict[str, ObjectMapping] = field(default_factory=default_objects)

    @property
    def login_flow(self) -> Literal["password", "oauth"] | None:
        """How the connector logs in (first, or again when a session expires); None: it cannot."""
        has_oauth_client = bool(self.consumer_key and self.consumer_secret)
        if not (self.username and self.password):
            return None
        if self.auth == "oauth":
            return "oauth" if has_oauth_client else None
        if self.auth == "password" or self.security_token is not None:
            return "password"
        return "oauth" if has_oauth_client else None

    @property
    def starts_with_session(self) -> bool:
        return self.auth == "session" or (self.auth == "auto" and bool(self.session_id))

    @classmethod
    def from_client_info(cls, info: dict[str, Any], **overrides: Any) -> SalesforceSettings:
        """Settings for a sandbox described by ``client_info`` / ``baton sandbox up`` (logins go to it too)."""
        values: dict[str, Any] = {
            "instance_url": info["instance_url"], "username": info.get("username"), "password": info.get("password"),
            "security_token": info.get("security_token"), "session_id": info.get("session_id"),
            "consumer_key": info.get("consumer_key"), "consumer_secret": info.get("consumer_secret"),
            "ca_cert": info.get("ca_cert"), "login_url": info["instance_url"],
        }
        values.update(overrides)
        return cls(**values)
