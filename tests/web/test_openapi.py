"""The OpenAPI description matches the app: same routes, and schemathesis finds no mismatch.

schemathesis generates requests from the description and runs them in-process against the WSGI
app (no socket), checking status codes, content types and response bodies against it.
"""

from __future__ import annotations

import re

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from redis import Redis

from app.web import create_app
from app.web.openapi import openapi_document
from app.web.rules_check import placeholder_validate
from app.web.services import InProcessServices
from tests.web.conftest import ADMIN_TOKEN, BASE_CONFIG, REDIS_DB

_IGNORED_METHODS = {"HEAD", "OPTIONS"}


def flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(path, method) for method in (rule.methods or set()) - _IGNORED_METHODS}
    return routes


def described_routes() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in openapi_document()["paths"].items() for method in item}


def test_every_route_is_described_and_every_description_is_a_route(app: Flask) -> None:
    assert flask_routes(app) == described_routes()


def test_the_served_description_is_the_document(app: Flask) -> None:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.json == openapi_document()
    assert response.json["openapi"].startswith("3.")


def _app_for_schemathesis() -> Flask:
    # Built at import time because schemathesis parametrizes at collection; its fixture-based
    # loader does not work with pytest 9. Redis DB 13 is connected lazily, on the first request.
    redis = Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    services = InProcessServices(validate_rules=placeholder_validate, redis=redis)
    return create_app(BASE_CONFIG, services=services, redis=redis)


# Every operation here needs a signature, a token, a valid rules file or an object the
# deployment syncs: constraints JSON Schema cannot express, so a schema-valid request may rightly
# get 400/422 and "positive data acceptance" does not apply (the endpoint tests cover those
# answers). Negative data may also be refused by the size limit (413) before it is parsed.
_CHECKS = {
    "positive_data_acceptance": {"enabled": False},
    "negative_data_rejection": {
        "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5XX"]
    },
}
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", _app_for_schemathesis(), config=schemathesis.Config.from_dict({"checks": _CHECKS})
)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_app_conforms_to_its_description(case: schemathesis.Case, redis: Redis) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
