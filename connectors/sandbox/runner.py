"""Start both sandboxes, seeded, on real sockets, and describe them to clients.

Used by ``baton sandbox up``, the demo, the tests and the benchmarks. The description is the JSON
object ``baton sandbox up`` prints as its first line of standard output.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from connectors.sandbox.faults import CallCounters, FaultInjector
from connectors.sandbox.seed import SeedData, generate
from connectors.sandbox.server import RunningServer, TlsFiles, WsgiApp, generate_self_signed_cert


class Sandbox(Protocol):
    """What each CRM sandbox offers the runner."""

    faults: FaultInjector
    counters: CallCounters

    def wsgi_app(self) -> WsgiApp: ...

    def client_info(self, base_url: str, ca_cert: str | None) -> dict[str, Any]: ...


@dataclass
class RunningSandboxes:
    salesforce: Any                     # connectors.sandbox.salesforce.SalesforceSandbox
    hubspot: Any                        # connectors.sandbox.hubspot.HubSpotSandbox
    data: SeedData
    servers: list[RunningServer] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    senders: Any = None                 # connectors.sandbox.webhooks.WebhookSenders, when started with webhooks

    def stop(self) -> None:
        if self.senders is not None:
            self.senders.stop()
        for server in self.servers:
            server.stop()

    def __enter__(self) -> RunningSandboxes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandboxes(*, seed: int = 42, records: int = 1000, salesforce_port: int = 0, hubspot_port: int = 0,
                    host: str = "127.0.0.1", state_dir: Path | None = None, now: dt.datetime | None = None,
                    hubspot_tls: bool = False, webhooks: bool = False) -> RunningSandboxes:
    """Seed and start both sandboxes; port 0 picks a free port. Salesforce always serves TLS.

    ``webhooks`` adds the webhook admin endpoints (``/_sandbox/webhooks`` on HubSpot,
    ``/_sandbox/outbound`` on Salesforce) and the senders behind them (``running.senders``).
    """
    from connectors.sandbox.hubspot import HubSpotSandbox
    from connectors.sandbox.salesforce import SalesforceSandbox

    data = generate(seed=seed, leads=records, now=now)
    state = state_dir or Path(tempfile.mkdtemp(prefix="baton-sandbox-"))
    tls: TlsFiles = generate_self_signed_cert(state / "tls")
    salesforce, hubspot = SalesforceSandbox(data), HubSpotSandbox(data)
    running = RunningSandboxes(salesforce=salesforce, hubspot=hubspot, data=data)
    sf_app, hs_app = salesforce.wsgi_app(), hubspot.wsgi_app()
    if webhooks:
        from connectors.sandbox.webhooks import WebhookSenders, hubspot_with_webhooks, salesforce_with_outbound

        sf_app, outbound = salesforce_with_outbound(salesforce)
        hs_app, hooks = hubspot_with_webhooks(hubspot)
        running.senders = WebhookSenders(hooks, outbound)
    sf_server = RunningServer(sf_app, host, salesforce_port, tls=tls).start()
    running.servers.append(sf_server)
    if running.senders is not None:
        running.senders.salesforce.base_url = sf_server.url
    hs_server = RunningServer(hs_app, host, hubspot_port, tls=tls if hubspot_tls else None).start()
    running.servers.append(hs_server)
    running.info = {
        "salesforce": salesforce.client_info(sf_server.url, str(tls.cert)),
        "hubspot": hubspot.client_info(hs_server.url, str(tls.cert) if hubspot_tls else None),
    }
    return running
