"""The requests Session the connector gives simple-salesforce.

simple-salesforce sets no timeout on any call, so the adapter adds one to every request. It also
addresses every login to https://{domain}.salesforce.com; when ``login_url`` is configured (a
sandbox, a proxy), the login adapter sends those requests there instead. The SDK is unmodified:
this is configuration of the transport it is given.
"""
from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")


class TimeoutAdapter(HTTPAdapter):
    """Applies a default (connect, read) timeout to every request that does not set its own."""

    def __init__(self, timeout_s: float, **kwargs: Any) -> None:
        self.timeout_s = timeout_s
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,  # type: ignore[override]
             **kwargs: Any) -> requests.Response:
        return super().send(request, stream=stream, timeout=timeout if timeout is not None else self.timeout_s,
                            **kwargs)


class LoginRoutingAdapter(TimeoutAdapter):
    """Sends requests for ``prefix`` (a Salesforce login host) to ``target`` (scheme://host:port)."""

    def __init__(self, prefix: str, target: str, timeout_s: float, **kwargs: Any) -> None:
        self.prefix = prefix.rstrip("/")
        self.target = target.rstrip("/")
        super().__init__(timeout_s, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        if url.startswith(self.prefix):
            request.url = self.target + url[len(self.prefix):]
        return super().send(request, *args, **kwargs)


def build_session(*, timeout_s: float, ca_cert: str | None, login_url: str | None, domain: str) -> requests.Session:
    """A session that verifies TLS against ``ca_cert`` (ignoring REQUESTS_CA_BUNDLE), with timeouts."""
    session = requests.Session()
    session.trust_env = False          # otherwise REQUESTS_CA_BUNDLE silently overrides ``verify``
    session.verify = ca_cert or True
    session.mount("https://", TimeoutAdapter(timeout_s))
    session.mount("http://", TimeoutAdapter(timeout_s))
    if login_url:
        hosts = set(LOGIN_HOSTS) | {f"https://{domain}.salesforce.com"}
        for host in hosts:
            session.mount(host + "/", LoginRoutingAdapter(host, login_url, timeout_s))
    return session
