"""``baton serve``: starts the development server, and refuses bad settings without a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner

from app.cli import main
from tests.web.conftest import BASE_CONFIG


def test_serve_starts_and_answers() -> None:
    env = {**os.environ, "BATON_REDIS_URL": BASE_CONFIG["BATON_REDIS_URL"]}
    baton = Path(sys.executable).with_name("baton")
    process = subprocess.Popen(
        [str(baton), "serve", "--port", "0", "--in-memory"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            match = re.search(r"Baton service on (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, "baton serve did not report its address"
        assert requests.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_serve_refuses_a_bad_setting_cleanly() -> None:
    result = CliRunner().invoke(
        main, ["serve", "--port", "0", "--in-memory"], env={"BATON_HUBSPOT_SIGNATURE_VERSIONS": "v9"}
    )
    assert result.exit_code == 1
    assert "BATON_HUBSPOT_SIGNATURE_VERSIONS" in result.output and "Traceback" not in result.output
