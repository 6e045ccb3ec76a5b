"""Fixtures for the web service tests: a real Redis (DB 13 only), the in-process services, the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from app.web import create_app
from app.web.rules_check import placeholder_validate
from app.web.services import InProcessServices

REDIS_DB = 13  # assigned to the web service tests; only this DB is ever flushed
ADMIN_TOKEN = "admin-token-for-tests-7f3a"
HUBSPOT_SECRET = "hubspot-client-secret-for-tests"
SALESFORCE_ORG = "00D5e000000KQ2eEAG"
SALESFORCE_SECRET = "salesforce-callout-secret-for-tests"

AppFactory = Callable[..., Flask]
"""Builds the app with config overrides as keyword arguments, sharing the test's services."""

BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "BATON_ADMIN_TOKEN": ADMIN_TOKEN,
    "BATON_HUBSPOT_CLIENT_SECRET": HUBSPOT_SECRET,
    "BATON_SALESFORCE_ORGANIZATION_ID": SALESFORCE_ORG,
    "BATON_SALESFORCE_FLOW_SECRET": SALESFORCE_SECRET,
    "BATON_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


@pytest.fixture
def redis() -> Iterator[Redis]:
    client = Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def services(redis: Redis) -> InProcessServices:
    # The placeholder validator keeps these tests about the web layer, whatever state the rules
    # package is in; test_rules_check covers the adapter to the rules package.
    return InProcessServices(validate_rules=placeholder_validate, redis=redis)


@pytest.fixture
def make_app(services: InProcessServices, redis: Redis) -> AppFactory:
    def build(**overrides: Any) -> Flask:
        return create_app({**BASE_CONFIG, **overrides}, services=services, redis=redis)

    return build


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
