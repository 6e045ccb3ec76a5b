"""Connector test helpers: a connector built from the sandbox's client_info (logins routed to it)."""
from __future__ import annotations

from typing import Any

from connectors.salesforce import SalesforceConnector
from connectors.salesforce_settings import SalesforceSettings
from tests.sandbox_salesforce.support import LiveSandbox


def connector(live: LiveSandbox, **overrides: Any) -> SalesforceConnector:
    return SalesforceConnector(SalesforceSettings.from_client_info(live.info, **overrides))


def lead_ids(live: LiveSandbox, where: str = "WHERE IsConverted = false") -> list[str]:
    return live.ids("Lead", where)
