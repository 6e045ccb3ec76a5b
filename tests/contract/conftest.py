"""The contract suite's fixtures: both sandboxes started once per module, one connector per CRM.

Every test in ``tests/contract`` runs once per CRM (``crm`` is parametrised) and talks to the CRM only
through the :class:`connectors.base.Connector` interface, plus the sandboxes' admin endpoints (edits
by another user, shared timestamps, faults) and the real SDKs for deletes, which Baton never does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from connectors.base import Connector
from connectors.hubspot import HubSpotConnector
from connectors.hubspot_settings import HubSpotSettings
from connectors.records import RecordKind
from connectors.sandbox.runner import RunningSandboxes, start_sandboxes

SEED_NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
LEADS = 300           # enough for a tie group of 250 to span two pages on both CRMs (200-record pages)
CRMS = ("hubspot", "salesforce")
OBJECTS = {
    "hubspot": {RecordKind.LEAD: "contacts", RecordKind.ACCOUNT: "companies", RecordKind.OPPORTUNITY: "deals"},
    "salesforce": {RecordKind.LEAD: "Lead", RecordKind.ACCOUNT: "Account", RecordKind.OPPORTUNITY: "Opportunity"},
}


@dataclass
class CrmUnderTest:
    """One CRM's connector plus the test-only powers the contract needs."""

    name: str
    info: dict[str, Any]
    running: RunningSandboxes

    def connector(self, page_size: int | None = None) -> Connector:
        """A fresh connector (fresh ledger) built from the sandbox's client info; ``page_size`` sets
        records per read call (HubSpot search page, Salesforce query batchSize)."""
        if self.name == "hubspot":
            sizes = {"search_page_size": page_size} if page_size else {}
            return HubSpotConnector(HubSpotSettings.from_info(self.info, search_per_second=None, **sizes))
        from connectors.salesforce import SalesforceConnector
        from connectors.salesforce_settings import SalesforceSettings
        batch = {"query_batch_size": page_size} if page_size else {}
        return SalesforceConnector(SalesforceSettings.from_client_info(self.info, **batch))

    def object(self, kind: RecordKind) -> str:
        return OBJECTS[self.name][kind]

    def crm_field(self, connector: Any, kind: RecordKind, canonical: str) -> str:
        return connector.settings.objects[self.object(kind)].fields[canonical]

    @property
    def base_url(self) -> str:
        return self.info["host"] if self.name == "hubspot" else self.info["instance_url"]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=10,
                                    verify=self.info.get("ca_cert") or True)
        response.raise_for_status()
        return response.json()

    def edit(self, kind: RecordKind, record_id: str, fields: dict[str, Any]) -> None:
        self.admin("POST", "edit", {"object": self.object(kind), "id": record_id, "fields": fields})

    def touch(self, kind: RecordKind, ids: list[str], timestamp: str) -> None:
        self.admin("POST", "touch", {"object": self.object(kind), "ids": ids, "timestamp": timestamp})

    def set_faults(self, plan: dict[str, Any]) -> None:
        self.admin("PUT", "faults", plan)

    def delete(self, kind: RecordKind, record_id: str) -> None:
        """Delete (Salesforce) or archive (HubSpot) through the real SDK, as a CRM user would."""
        if self.name == "hubspot":
            from hubspot import HubSpot
            client = HubSpot(access_token=self.info["access_token"], host=self.info["host"])
            getattr(client.crm, self.object(kind)).basic_api.archive(record_id, _request_timeout=10)
            return
        import simple_salesforce
        session = requests.Session()
        session.verify, session.trust_env = self.info["ca_cert"], False
        sf = simple_salesforce.Salesforce(instance_url=self.info["instance_url"], session_id=self.info["session_id"],
                                          session=session)
        getattr(sf, self.object(kind)).delete(record_id)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[RunningSandboxes]:
    with start_sandboxes(seed=11, records=LEADS, now=SEED_NOW) as running:
        from connectors.sandbox.hubspot.ratelimit import Limits
        # Lift HubSpot's natural limits: these tests are about behaviour, not pacing.
        running.hubspot.limiter.set_limits(Limits(interval_max=1_000_000, search_per_second=1_000_000))
        yield running


@pytest.fixture(scope="module", params=CRMS)
def crm(request: pytest.FixtureRequest, sandboxes: RunningSandboxes) -> CrmUnderTest:
    return CrmUnderTest(request.param, sandboxes.info[request.param], sandboxes)


@pytest.fixture(autouse=True)
def _no_faults(crm: CrmUnderTest) -> Iterator[None]:
    crm.admin("DELETE", "faults")
    yield
    crm.admin("DELETE", "faults")
