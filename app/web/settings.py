"""The web service's settings: one Flask config key per setting, each also readable from the
environment variable of the same name, so ``gunicorn 'app.web:create_app()'`` needs no code.

Precedence: the ``config`` mapping given to :func:`app.web.create_app`, then the environment, then
the defaults below. Secrets (tokens, client secrets) are only ever read, never logged or echoed.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.web.dedupe import DEFAULT_TTL_SECONDS
from app.web.signatures import DEFAULT_MAX_AGE_SECONDS

if TYPE_CHECKING:
    from app.config_schema import BatonConfig

DEFAULTS: Mapping[str, Any] = {
    # Bearer token of the admin API; empty disables the admin API (every call gets 401).
    "BATON_ADMIN_TOKEN": "",
    # The HubSpot app's client secret, the key of its webhook signatures.
    "BATON_HUBSPOT_CLIENT_SECRET": "",
    # Accepted HubSpot signature versions: "v3", or "v3,v1" / "v3,v2" for older apps.
    "BATON_HUBSPOT_SIGNATURE_VERSIONS": "v3",
    # The Salesforce org allowed to send Outbound Messages (15 or 18 characters).
    "BATON_SALESFORCE_ORGANIZATION_ID": "",
    # Shared secret of the JSON callout form from Flows/Apex (X-Baton-Signature).
    "BATON_SALESFORCE_FLOW_SECRET": "",
    "BATON_SIGNATURE_MAX_AGE_SECONDS": DEFAULT_MAX_AGE_SECONDS,
    "BATON_WEBHOOK_DEDUPE_TTL_SECONDS": DEFAULT_TTL_SECONDS,
    "BATON_REDIS_URL": "redis://127.0.0.1:6379/0",
    # Werkzeug ProxyFix hop counts, e.g. "x_for=1,x_proto=1,x_host=1", when behind a proxy.
    "BATON_PROXY_FIX": "",
    # "module:callable" building the Services from the config; "memory" = InProcessServices.
    "BATON_SERVICES_FACTORY": "app.web_services:build_services",
    # Largest accepted request body in bytes (larger -> 413).
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
}

_INTEGER_KEYS = frozenset({"BATON_SIGNATURE_MAX_AGE_SECONDS", "BATON_WEBHOOK_DEDUPE_TTL_SECONDS",
                           "MAX_CONTENT_LENGTH"})
# Environment variables read for a key, first found wins (REDIS_URL is what app.config uses).
_ENV_NAMES: Mapping[str, tuple[str, ...]] = {"MAX_CONTENT_LENGTH": ("BATON_MAX_CONTENT_LENGTH",),
                                             "BATON_REDIS_URL": ("BATON_REDIS_URL", "REDIS_URL")}


class SettingsError(ValueError):
    """A setting has an unusable value; the message names the setting (never its secret value)."""


def load_settings(overrides: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None,
                  ) -> dict[str, Any]:
    """Merge defaults, environment and ``overrides`` into a Flask config mapping."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        names = _ENV_NAMES.get(key, (key,))
        settings[key] = next((environ[name] for name in names if name in environ), default)
    settings.update(overrides or {})
    for key in _INTEGER_KEYS:
        settings[key] = _as_int(key, settings[key])
    settings["BATON_HUBSPOT_SIGNATURE_VERSIONS"] = signature_versions(
        settings["BATON_HUBSPOT_SIGNATURE_VERSIONS"])
    settings["BATON_PROXY_FIX"] = proxy_fix_hops(settings["BATON_PROXY_FIX"])
    return settings


def settings_from_baton_config(config: BatonConfig) -> dict[str, Any]:
    """The web settings found in Baton's configuration file (:mod:`app.config`).

    Pass the result as ``create_app(config=...)``; keys the file leaves unset fall back to the
    environment and the defaults. This is the one place the secrets are unwrapped for the web app.
    """
    settings: dict[str, Any] = {}
    if config.admin_token is not None:
        settings["BATON_ADMIN_TOKEN"] = config.admin_token.get_secret_value()
    if config.redis_url is not None:
        settings["BATON_REDIS_URL"] = config.redis_url.get_secret_value()
    if config.hubspot is not None and config.hubspot.client_secret is not None:
        settings["BATON_HUBSPOT_CLIENT_SECRET"] = config.hubspot.client_secret.get_secret_value()
    if config.salesforce is not None:
        if config.salesforce.organization_id:
            settings["BATON_SALESFORCE_ORGANIZATION_ID"] = config.salesforce.organization_id
        if config.salesforce.flow_secret is not None:
            settings["BATON_SALESFORCE_FLOW_SECRET"] = config.salesforce.flow_secret.get_secret_value()
    return settings


def signature_versions(value: str | Any) -> frozenset[str]:
    """Parse ``"v3,v1"`` (or an iterable) into the accepted HubSpot signature versions."""
    items = value.split(",") if isinstance(value, str) else list(value)
    versions = frozenset(str(item).strip().lower() for item in items if str(item).strip())
    unknown = versions - {"v1", "v2", "v3"}
    if unknown or not versions:
        raise SettingsError("BATON_HUBSPOT_SIGNATURE_VERSIONS must list some of v1, v2, v3 "
                            f"(got {sorted(unknown) or 'nothing'})")
    return versions


def proxy_fix_hops(value: str | Mapping[str, int] | None) -> dict[str, int]:
    """Parse ``"x_for=1,x_proto=1"`` (or a mapping) into ProxyFix keyword arguments."""
    if not value:
        return {}
    pairs = value.items() if isinstance(value, Mapping) else (
        part.split("=", 1) for part in value.split(",") if part.strip())
    hops: dict[str, int] = {}
    for pair in pairs:
        key, raw = (str(item).strip() for item in pair) if len(pair) == 2 else ("", "")
        if key not in ("x_for", "x_proto", "x_host", "x_port", "x_prefix"):
            raise SettingsError("BATON_PROXY_FIX takes x_for, x_proto, x_host, x_port, x_prefix "
                                "as key=hops pairs, e.g. 'x_proto=1,x_host=1'")
        hops[key] = _as_int("BATON_PROXY_FIX", raw)
    return hops


def _as_int(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key} must be a whole number") from None
    if number < 0:
        raise SettingsError(f"{key} must not be negative")
    return number
