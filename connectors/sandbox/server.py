"""Run a sandbox WSGI application on a real socket, over TLS when asked.

simple-salesforce only speaks https, so the Salesforce sandbox serves TLS with a certificate it
generates for 127.0.0.1 / localhost; the connector trusts it through configuration (``ca_cert``).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WsgiApp = Callable[..., Any]


@dataclass(frozen=True)
class TlsFiles:
    cert: Path   # also the CA certificate clients trust (self-signed)
    key: Path


def generate_self_signed_cert(directory: Path, common_name: str = "baton-sandbox") -> TlsFiles:
    """A self-signed certificate valid for 127.0.0.1, ::1 and localhost (subjectAltName is required)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    alt_names = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(alt_names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(cert=directory / f"{common_name}.crt", key=directory / f"{common_name}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without one log line per request (the counters say what was called)."""

    protocol_version = "HTTP/1.1"   # keep-alive: the SDKs reuse connections, as with the real APIs

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class RunningServer:
    """A sandbox serving in a background thread until :meth:`stop`."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0,
                 tls: TlsFiles | None = None) -> None:
        ssl_context = None
        if tls is not None:
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(str(tls.cert), str(tls.key))
        self.tls = tls
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                   request_handler=_QuietHandler, ssl_context=ssl_context)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sandbox:{self.port}",
                                        daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> RunningServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
