"""Shared set-up of the loop benchmarks (``api_efficiency.py``, ``end_to_end.py``).

A benchmark environment is what ``baton demo`` builds, without the demo: both CRM sandboxes seeded
on real sockets, a configuration file (secrets in the environment), a SQLite store in a temporary
directory, and Redis DB 8 (flushed at the start and the end; a bench owns it while it runs).
Rate limits are raised on both sides, in the sandboxes and in Baton's configuration, so the figures
measure API calls and Baton's own work, not a 10-second quota window.
"""
from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import requests
import yaml

from app.config import load_config
from app.demo.environment import write_config
from app.pipeline.context import PipelineContext
from connectors.sandbox.runner import RunningSandboxes, start_sandboxes

BENCH_REDIS_URL = os.environ.get("BATON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")

# Baton's limiter: well above what the sandboxes will serve, so pacing never dominates the figures.
UNTHROTTLED_LIMITS = {
    "salesforce": {"rate": {"requests": 5000, "period": "1s", "burst": 5000}, "daily_api_requests": 50_000_000},
    "hubspot": {"rate": {"requests": 50_000, "period": "10s", "burst": 5000}, "ten_second_requests": 50_000,
                "daily_requests": 50_000_000, "search": {"requests": 1000, "period": "1s", "burst": 1000}},
}


def machine() -> str:
    """``N cores, CPU model, Python x.y`` for the tables' captions."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}, Python {platform.python_version()}"


@dataclass
class SandboxAdmin:
    """A sandbox's admin API (``/_sandbox/...``): counters, faults, limits, records."""

    base_url: str
    verify: str | bool

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/_sandbox/{path}", verify=self.verify,
                                        timeout=120, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def counters(self) -> dict[str, Any]:
        return self.call("GET", "counters")

    def reset_counters(self) -> None:
        self.call("DELETE", "counters")

    def set_faults(self, **plan: Any) -> None:
        self.call("PUT", "faults", json=plan)


def admin_for(sandboxes: RunningSandboxes, crm: str) -> SandboxAdmin:
    info = sandboxes.info[crm]
    return SandboxAdmin(info.get("instance_url") or info["host"], info.get("ca_cert") or True)


def lift_sandbox_limits(sandboxes: RunningSandboxes) -> None:
    """Raise the sandboxes' own quotas (Salesforce daily requests, HubSpot 10-s/secondly/search)."""
    admin_for(sandboxes, "salesforce").call("PUT", "limits", json={"used": 0, "max": 100_000_000})
    admin_for(sandboxes, "hubspot").call("PUT", "limits", json={
        "interval_max": 10_000_000, "secondly": 1_000_000, "search_per_second": 100_000, "daily": 100_000_000})


@dataclass
class BenchEnvironment:
    directory: Path
    sandboxes: RunningSandboxes
    config_path: Path
    secrets: dict[str, str]
    redis: redis.Redis

    def context(self) -> PipelineContext:
        env = {**os.environ, **self.secrets, "BATON_CONFIG": str(self.config_path)}
        return PipelineContext(load_config(self.config_path, env=env), self.redis)

    def worker_env(self) -> dict[str, str]:
        """What worker processes need in their environment (secrets stay out of argv and files)."""
        return {**self.secrets, "BATON_CONFIG": str(self.config_path), "REDIS_URL": BENCH_REDIS_URL}


@contextmanager
def bench_environment(records: int, *, seed: int = 42, name: str = "bench") -> Iterator[BenchEnvironment]:
    """Seeded sandboxes (``records`` leads per CRM; accounts a tenth, opportunities a fifth), an
    unthrottled configuration and a fresh SQLite store; everything removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=f"baton-{name}-"))
    connection = redis.Redis.from_url(BENCH_REDIS_URL)
    connection.flushdb()
    sandboxes = start_sandboxes(seed=seed, records=records, state_dir=directory / "sandbox")
    try:
        lift_sandbox_limits(sandboxes)
        config_path, secrets = write_config(directory, sandboxes.info, f"sqlite:///{directory / 'baton.db'}")
        document = yaml.safe_load(config_path.read_text())
        for crm, limits in UNTHROTTLED_LIMITS.items():
            document[crm]["limits"] = limits
        config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        yield BenchEnvironment(directory, sandboxes, config_path, secrets, connection)
    finally:
        sandboxes.stop()
        connection.flushdb()
        connection.close()
        shutil.rmtree(directory, ignore_errors=True)


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "-"


def crm_record_counts(sandboxes: RunningSandboxes, objects: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """How many records each CRM object holds, asked over the API (SOQL ``COUNT()``, search ``total``)."""
    session = requests.Session()
    session.trust_env = False
    counts: dict[tuple[str, str], int] = {}
    sf, hs = sandboxes.info["salesforce"], sandboxes.info["hubspot"]
    for crm, object_name in objects:
        if crm == "salesforce":
            response = session.get(f"{sf['instance_url']}/services/data/v59.0/query/",
                                   params={"q": f"SELECT COUNT() FROM {object_name}"}, verify=sf["ca_cert"],
                                   headers={"Authorization": f"Bearer {sf['session_id']}"}, timeout=60)
        else:
            response = session.post(f"{hs['host']}/crm/v3/objects/{object_name}/search", timeout=60,
                                    json={"limit": 1, "filterGroups": []},
                                    headers={"Authorization": f"Bearer {hs['access_token']}"})
        response.raise_for_status()
        counts[(crm, object_name)] = int(response.json().get("totalSize", response.json().get("total", 0)))
    return counts
