"""Logins (SOAP ``login``, OAuth2 password grant) and the sessions they issue.

The SDK finds ``sessionId`` and ``serverUrl`` in the SOAP answer by literal tag name, so they carry no
namespace prefix; faults carry ``sf:exceptionCode`` / ``sf:exceptionMessage`` with the prefix. The
instance URL handed out is the URL the login request reached, so a login routed from
``login.salesforce.com`` to the sandbox comes back pointing at the sandbox itself.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs
from xml.dom import minidom
from xml.parsers.expat import ExpatError

from werkzeug.wrappers import Request, Response

from connectors.sandbox.salesforce.store import API_USER_ID

ORG_ID = "00D5g000004BATON"


@dataclass
class Credentials:
    """The one API user of the sandbox org, with secrets made fresh for each sandbox."""

    username: str = "baton.integration@example.com"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(12))
    security_token: str = field(default_factory=lambda: secrets.token_hex(12).upper())
    consumer_key: str = field(default_factory=lambda: "3MVG9" + secrets.token_urlsafe(24))
    consumer_secret: str = field(default_factory=lambda: secrets.token_hex(16).upper())


class Sessions:
    """Issued session ids; expiring them all is how tests make the connector refresh its session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._valid: set[str] = set()

    def issue(self) -> str:
        session_id = f"{ORG_ID}!AQ0AQ{secrets.token_urlsafe(40)}"
        with self._lock:
            self._valid.add(session_id)
        return session_id

    def is_valid(self, session_id: str | None) -> bool:
        with self._lock:
            return bool(session_id) and session_id in self._valid

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._valid)
            self._valid.clear()
            return count


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith(("bearer ", "oauth ")):
        return header.split(" ", 1)[1].strip()
    return request.headers.get("X-SFDC-Session")


def _instance_url(request: Request) -> str:
    return request.host_url.rstrip("/")


def _text(document: minidom.Document, local_name: str) -> str | None:
    for node in document.getElementsByTagNameNS("*", local_name):
        return "".join(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE)
    return None


def soap_login(request: Request, credentials: Credentials, sessions: Sessions, version: str) -> Response:
    """The partner-API ``login`` call: password + security token (or password alone, as if IP-trusted)."""
    try:
        document = minidom.parseString(request.get_data())
    except ExpatError:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    username, password = _text(document, "username"), _text(document, "password")
    accepted = {credentials.password + credentials.security_token, credentials.password}
    if username != credentials.username or password not in accepted:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    base = _instance_url(request)
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">
 <soapenv:Body><loginResponse><result>
  <metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>
  <passwordExpired>false</passwordExpired><sandbox>true</sandbox>
  <serverUrl>{base}/services/Soap/u/{version}/{ORG_ID}</serverUrl>
  <sessionId>{sessions.issue()}</sessionId><userId>{API_USER_ID}</userId>
  <userInfo><organizationId>{ORG_ID}</organizationId><userName>{credentials.username}</userName></userInfo>
 </result></loginResponse></soapenv:Body></soapenv:Envelope>"""
    return Response(body, status=200, content_type="text/xml; charset=utf-8")


def _soap_fault(code: str, message: str) -> Response:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>
 <faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>
 <detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>
 <sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail>
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
    return Response(body, status=500, content_type="text/xml; charset=utf-8")


def oauth_token(request: Request, credentials: Credentials, sessions: Sessions) -> Response:
    """``POST /services/oauth2/token`` with ``grant_type=password``."""
    form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
    if form.get("grant_type") != "password":
        return _oauth_error(400, "unsupported_grant_type", "grant type not supported")
    if form.get("client_id") != credentials.consumer_key or form.get("client_secret") != credentials.consumer_secret:
        return _oauth_error(400, "invalid_client_id", "client identifier invalid")
    accepted = {credentials.password, credentials.password + credentials.security_token}
    if form.get("username") != credentials.username or form.get("password") not in accepted:
        return _oauth_error(400, "invalid_grant", "authentication failure")
    base = _instance_url(request)
    body = {"access_token": sessions.issue(), "instance_url": base,
            "id": f"{base}/id/{ORG_ID}/{API_USER_ID}", "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)), "signature": secrets.token_urlsafe(32)}
    return Response(json.dumps(body), status=200, content_type="application/json;charset=UTF-8")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(json.dumps({"error": error, "error_description": description}), status=status,
                    content_type="application/json;charset=UTF-8")
