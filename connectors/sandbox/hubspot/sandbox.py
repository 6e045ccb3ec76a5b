"""``HubSpotSandbox``: one in-memory HubSpot portal served over HTTP (see ``app.py``)."""
from __future__ import annotations

import uuid
from typing import Any

from connectors.sandbox.faults import CallCounters, FaultInjector
from connectors.sandbox.hubspot.admin import AdminApi
from connectors.sandbox.hubspot.app import HubSpotApp
from connectors.sandbox.hubspot.objects_api import ObjectsApi
from connectors.sandbox.hubspot.properties import OBJECT_TYPES
from connectors.sandbox.hubspot.ratelimit import Limits, RateLimiter
from connectors.sandbox.hubspot.search import SearchEngine
from connectors.sandbox.hubspot.seeding import seed_store
from connectors.sandbox.hubspot.store import PortalStore, ValidationFailed
from connectors.sandbox.seed import SeedData


class HubSpotSandbox:
    """A seeded portal with faults, counters and rate limits; ``wsgi_app()`` serves it."""

    def __init__(self, data: SeedData | None = None, *, access_token: str | None = None,
                 client_secret: str | None = None, limits: Limits | None = None,
                 lifecycle_forward_only: bool = True) -> None:
        self.access_token = access_token or f"pat-na1-{uuid.uuid4()}"
        self.client_secret = client_secret or str(uuid.uuid4())
        self.store = PortalStore(lifecycle_forward_only=lifecycle_forward_only)
        self.faults = FaultInjector()
        self.counters = CallCounters()
        self.limiter = RateLimiter(limits)
        self.search_engine = SearchEngine(self.store)
        self.objects_api = ObjectsApi(self.store, self.search_engine, self.faults.record_failure)
        self.admin = AdminApi(self)
        self.seed_ids: dict[str, dict[str, str]] = seed_store(self.store, data) if data else {}

    def wsgi_app(self) -> HubSpotApp:
        return HubSpotApp(self)

    def client_info(self, base_url: str, ca_cert: str | None) -> dict[str, Any]:
        """What a client needs: the ``hubspot`` entry of ``baton sandbox up``'s JSON line."""
        return {"host": base_url, "access_token": self.access_token, "client_secret": self.client_secret,
                "ca_cert": ca_cert}

    def apply_edits_after_read(self, object_type: str, served_ids: list[str]) -> None:
        """Play the planned "another user" edits on records a read just served."""
        if object_type not in OBJECT_TYPES:
            return
        for edit in self.faults.take_edits_after_read(object_type, set(served_ids)):
            properties = edit.get("properties") or edit.get("fields") or {}
            try:
                self.store.update(object_type, str(edit["id"]), properties, source="CRM_UI")
            except (KeyError, ValidationFailed):
                pass   # the other user's edit was refused; the read itself already succeeded
