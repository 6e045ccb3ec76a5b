"""A HubSpot CRM v3 sandbox: contacts, companies and deals over HTTP, as hubspot-api-client 12 uses them.

``HubSpotSandbox(seed_data)`` holds the portal; ``wsgi_app()`` serves it (see ``docs/sandboxes.md``,
section "HubSpot sandbox", for the endpoints, the admin API and what is emulated).
"""
from __future__ import annotations

from connectors.sandbox.hubspot.sandbox import HubSpotSandbox

__all__ = ["HubSpotSandbox"]
