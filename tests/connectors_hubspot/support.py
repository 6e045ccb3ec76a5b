"""Connector test helpers."""
from __future__ import annotations

from typing import Any

from connectors.hubspot import HubSpotConnector
from connectors.hubspot_settings import HubSpotSettings
from tests.sandbox_hubspot.support import Portal


def connector(portal: Portal, **overrides: Any) -> HubSpotConnector:
    """A connector on the real SDK against the portal; no client-side search pacing unless asked."""
    settings = {"search_per_second": None, "timeout_s": 10.0, **overrides}
    return HubSpotConnector(HubSpotSettings.from_info(portal.info, **settings))


def all_records(pages: Any) -> list[Any]:
    return [record for page in pages for record in page]
