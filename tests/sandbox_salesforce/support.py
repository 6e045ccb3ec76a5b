"""Shared test support: a seeded Salesforce sandbox on a real TLS socket (port 0) and its admin API."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from simple_salesforce import Salesforce

from connectors.sandbox.salesforce import SalesforceSandbox
from connectors.sandbox.seed import generate
from connectors.sandbox.server import RunningServer, TlsFiles

SEED_NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class LiveSandbox:
    sandbox: SalesforceSandbox
    server: RunningServer
    info: dict[str, Any]
    http: requests.Session           # trusts the sandbox certificate; for admin calls and raw requests

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def sdk(self) -> Salesforce:
        """The real SDK on a direct session (no login call)."""
        return Salesforce(instance_url=self.info["instance_url"], session_id=self.info["session_id"],
                          session=self.http)

    def ids(self, object_name: str, where: str = "") -> list[str]:
        soql = f"SELECT Id FROM {object_name} {where} ORDER BY Id"
        return [row["Id"] for row in self.sdk().query_all(soql)["records"]]


def trusting_session(tls: TlsFiles) -> requests.Session:
    session = requests.Session()
    session.verify = str(tls.cert)
    session.trust_env = False
    return session


def start(tls: TlsFiles, leads: int = 300, seed: int = 7, **kwargs: Any) -> Iterator[LiveSandbox]:
    sandbox = SalesforceSandbox(generate(seed=seed, leads=leads, now=SEED_NOW), **kwargs)
    server = RunningServer(sandbox.wsgi_app(), tls=tls).start()
    http = trusting_session(tls)
    try:
        yield LiveSandbox(sandbox, server, sandbox.client_info(server.url, str(tls.cert)), http)
    finally:
        http.close()
        # shutdown() waits out serve_forever's 0.5 s poll; let it finish in the background
        threading.Thread(target=server.stop, daemon=True).start()


def tls_files(directory: Path) -> TlsFiles:
    from connectors.sandbox.server import generate_self_signed_cert
    return generate_self_signed_cert(directory)
