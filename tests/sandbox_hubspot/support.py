"""Shared helpers for the HubSpot sandbox and connector tests: a seeded sandbox on a real socket."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.sandbox.hubspot import HubSpotSandbox
from connectors.sandbox.hubspot.ratelimit import Limits
from connectors.sandbox.seed import generate
from connectors.sandbox.server import RunningServer

SEED_NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
NO_LIMITS = Limits(interval_max=1_000_000, search_per_second=1_000_000)


@dataclass
class Portal:
    """A running sandbox plus what tests need to talk to it."""

    sandbox: HubSpotSandbox
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def info(self) -> dict[str, Any]:
        return self.sandbox.client_info(self.server.url, None)

    def sdk(self, token: str | None = None, *, hidden_retries: bool = False) -> HubSpot:
        """The real SDK; by default with urllib3 retries off, as the connector builds it."""
        options: dict[str, Any] = {} if hidden_retries else {"retry": Retry(total=0, respect_retry_after_header=False,
                                                                             raise_on_status=False)}
        return HubSpot(access_token=token or self.sandbox.access_token, host=self.url, **options)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def http(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.sandbox.access_token}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def reset(self) -> None:
        self.sandbox.faults.clear()
        self.sandbox.counters.reset()
        self.sandbox.limiter.set_limits(NO_LIMITS)


@contextmanager
def running_portal(leads: int = 120, seed: int = 7) -> Iterator[Portal]:
    sandbox = HubSpotSandbox(generate(seed=seed, leads=leads, now=SEED_NOW), limits=NO_LIMITS)
    with RunningServer(sandbox.wsgi_app()) as server:
        yield Portal(sandbox, server)


def contact_ids(portal: Portal, count: int) -> list[str]:
    return [str(i) for i in portal.sandbox.store.tables["contacts"].ids[:count]]
