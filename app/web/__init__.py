"""Baton's web service: CRM webhooks, the admin API, health checks and the OpenAPI description.

``create_app`` is a Flask application factory; run it with ``baton serve`` (development) or
``gunicorn 'app.web:create_app()'`` (production). Views act only through a
:class:`app.web.services.Services` object.
"""
from __future__ import annotations

import importlib
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from redis import Redis
from werkzeug.middleware.proxy_fix import ProxyFix

from app.web import admin, health, openapi, webhooks
from app.web.context import EXTENSION_KEY, WebContext
from app.web.dedupe import EventDeduper
from app.web.errors import register_error_handlers
from app.web.rules_check import validate_rules_text
from app.web.services import InProcessServices, Services
from app.web.settings import load_settings

__all__ = ["create_app"]

log = logging.getLogger("app.web.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(config: Mapping[str, Any] | None = None, services: Services | None = None,
               redis: Redis | None = None) -> Flask:
    """Build the web application.

    :param config: Flask config overrides (see :mod:`app.web.settings` for the keys); the
        environment supplies the rest.
    :param services: what the views act through; built from ``BATON_SERVICES_FACTORY`` if omitted.
    :param redis: the connection used to deduplicate webhook events; from ``BATON_REDIS_URL`` if omitted.
    """
    app = Flask(__name__, static_folder=None)
    app.config.update(load_settings(config))
    if app.config["BATON_PROXY_FIX"]:
        # Only trust as many proxy hops as configured: the HubSpot signature covers the URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, **app.config["BATON_PROXY_FIX"])  # type: ignore[method-assign]
    redis = redis if redis is not None else Redis.from_url(app.config["BATON_REDIS_URL"])
    services = services if services is not None else _build_services(app.config, redis)
    deduper = EventDeduper(redis, ttl_seconds=app.config["BATON_WEBHOOK_DEDUPE_TTL_SECONDS"])
    app.extensions[EXTENSION_KEY] = WebContext(services=services, deduper=deduper)
    for blueprint in (webhooks.bp, admin.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    return app


def _build_services(config: Mapping[str, Any], redis: Redis) -> Services:
    factory_path: str = config["BATON_SERVICES_FACTORY"]
    if factory_path == "memory":
        log.warning("using in-process services: webhooks and syncs are recorded, not processed")
        return InProcessServices(validate_rules=validate_rules_text, redis=redis)
    module_name, _, attribute = factory_path.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        raise RuntimeError(f"BATON_SERVICES_FACTORY {factory_path!r} cannot be imported; set it to "
                           "'module:callable' returning a Services, or to 'memory' for development"
                           ) from None
    built: Services = factory(config)
    return built


def _start_request() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "-")
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    # The path only: query strings and headers may carry secrets.
    log.info("%s %s %d %.1fms id=%s", request.method, request.path, response.status_code, elapsed_ms,
             g.get("request_id", "-"))
    return response
