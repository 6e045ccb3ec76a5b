"""Transport: TLS with the sandbox's certificate, injected latency, and closing the connector."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.errors import FatalError
from connectors.hubspot import HubSpotConnector
from connectors.hubspot_settings import HubSpotSettings
from connectors.sandbox.server import RunningServer, generate_self_signed_cert
from tests.connectors_hubspot.support import all_records, connector
from tests.sandbox_hubspot.support import Portal


def test_tls_sandbox_is_trusted_through_ca_cert_and_refused_without_it(portal: Portal, tmp_path: Path) -> None:
    tls = generate_self_signed_cert(tmp_path)
    with RunningServer(portal.sandbox.wsgi_app(), tls=tls) as server:
        info = portal.sandbox.client_info(server.url, str(tls.cert))
        trusted = HubSpotConnector(HubSpotSettings.from_info(info, search_per_second=None))
        assert server.url.startswith("https://")
        assert len(all_records(trusted.read_changed("companies", None))) == len(
            portal.sandbox.store.tables["companies"].records)
        untrusted = HubSpotConnector(HubSpotSettings.from_info({**info, "ca_cert": None}, search_per_second=None))
        with pytest.raises(FatalError):
            untrusted.fetch("companies", ["5000001"])


def test_injected_latency_slows_calls_but_they_succeed(portal: Portal) -> None:
    portal.admin("PUT", "faults", {"latency_ms": 150, "endpoints": ["batch/read"]})
    hub = connector(portal)
    started = time.monotonic()
    assert hub.fetch("companies", ["5000001"])
    assert time.monotonic() - started >= 0.15


def test_edit_after_read_is_seen_by_the_next_fetch(portal: Portal) -> None:
    """Another user edits a record right after Baton read it: verifying before a write sees the change."""
    portal.admin("PUT", "faults", {"edit_after_read": [{"object": "companies", "id": "5000002",
                                                        "properties": {"name": "Renamed Elsewhere KK"}}]})
    hub = connector(portal)
    first = hub.fetch("companies", ["5000002"])[0]
    second = hub.fetch("companies", ["5000002"])[0]
    assert first.fields["name"] != "Renamed Elsewhere KK" and second.fields["name"] == "Renamed Elsewhere KK"
    assert second.modified_at > first.modified_at


def test_close_releases_connections_and_the_connector_can_be_used_again(portal: Portal) -> None:
    hub = connector(portal)
    hub.fetch("companies", ["5000001"])
    hub.close()
    assert hub.fetch("companies", ["5000001"])[0].id == "5000001"
