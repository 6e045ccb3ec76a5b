"""The documented production command works: ``gunicorn 'app.web:create_app()'`` configured only by
environment variables, serving a signed webhook and the admin API over a socket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from redis import Redis

from tests.web.conftest import ADMIN_TOKEN, BASE_CONFIG, HUBSPOT_SECRET
from tests.web.helpers import as_body, hubspot_event, hubspot_v3_headers

_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")


@pytest.fixture
def gunicorn_url(redis: Redis) -> Iterator[str]:
    env = {
        **os.environ,
        "BATON_SERVICES_FACTORY": "memory",
        "BATON_ADMIN_TOKEN": ADMIN_TOKEN,
        "BATON_HUBSPOT_CLIENT_SECRET": HUBSPOT_SECRET,
        "BATON_REDIS_URL": BASE_CONFIG["BATON_REDIS_URL"],
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "1", "app.web:create_app()"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_listening(process)
        _wait_until_ready(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def _wait_for_listening(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        match = _LISTENING.search(line)
        if match:
            return match.group(1)
    raise AssertionError(f"gunicorn exited ({process.poll()}) before listening")


def _wait_until_ready(url: str) -> None:
    # The worker boots after the arbiter binds; poll (bounded) until it answers.
    for _ in range(100):
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("gunicorn worker did not answer")


def test_gunicorn_serves_the_factory(gunicorn_url: str) -> None:
    url = f"{gunicorn_url}/webhooks/hubspot"
    body = as_body([hubspot_event(101, 1), hubspot_event(102, 2)])
    response = requests.post(url, data=body, headers=hubspot_v3_headers(body, url), timeout=10)
    assert response.status_code == 200 and response.json()["records"] == {"contacts": 2}
    again = requests.post(url, data=body, headers=hubspot_v3_headers(body, url), timeout=10)
    assert again.json()["duplicates"] == 2
    assert requests.get(f"{gunicorn_url}/readyz", timeout=10).json()["status"] == "ready"
    admin = requests.get(
        f"{gunicorn_url}/api/v1/queues", timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert admin.status_code == 200 and admin.json()["queues"][0]["queued"] == 1
