"""The demo's embedded environment: sandboxes, Redis, SQLite, a configuration file, RQ workers.

Workers are separate processes, so they get the configuration the way a deployment does: a YAML
file named by ``BATON_CONFIG`` with no secrets in it, and the secrets in environment variables.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import yaml

from app.config import load_config
from app.config_schema import BatonConfig
from app.queueing import redis_connection, spawn_workers, stop_workers
from connectors.sandbox.runner import RunningSandboxes, start_sandboxes

SECRET_ENV = {
    ("salesforce", "password"): "BATON_SALESFORCE_PASSWORD",
    ("salesforce", "security_token"): "BATON_SALESFORCE_SECURITY_TOKEN",
    ("hubspot", "access_token"): "BATON_HUBSPOT_ACCESS_TOKEN",
    ("hubspot", "client_secret"): "BATON_HUBSPOT_CLIENT_SECRET",
}


@dataclass
class DemoEnvironment:
    directory: Path
    sandboxes: RunningSandboxes
    config: BatonConfig
    redis: redis.Redis
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_file: Any = None

    def stop(self) -> None:
        if self.workers:
            stop_workers(self.workers, timeout_s=30)
        self.sandboxes.stop()
        if self.log_file is not None:
            self.log_file.close()


def write_config(directory: Path, info: dict[str, Any], database_url: str) -> tuple[Path, dict[str, str]]:
    """A configuration file for the sandboxes (no secrets) and the environment holding the secrets."""
    sf, hs = info["salesforce"], info["hubspot"]
    document = {
        "database_url": database_url,
        "salesforce": {"instance_url": sf["instance_url"], "username": sf["username"], "auth": "password",
                       "ca_cert": sf["ca_cert"], "schedule": {"lookback": 0}},
        "hubspot": {"host": hs["host"], **({"ca_cert": hs["ca_cert"]} if hs.get("ca_cert") else {}),
                    "schedule": {"lookback": 0}},
    }
    path = directory / "baton.yaml"
    path.write_text("# Written by `baton demo` for its sandboxes; secrets are in the environment.\n"
                    + yaml.safe_dump(document, sort_keys=False))
    env = {name: str(info[crm][key]) for (crm, key), name in SECRET_ENV.items() if info[crm].get(key)}
    return path, env


def start(directory: Path, *, records: int, seed: int, workers: int) -> DemoEnvironment:
    """Fresh sandboxes, database and queues, and ``workers`` worker processes."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    sandboxes = start_sandboxes(seed=seed, records=records, state_dir=directory / "sandbox", webhooks=True)
    config_path, secrets = write_config(directory, sandboxes.info, f"sqlite:///{directory / 'baton.db'}")
    os.environ.update(secrets)
    os.environ["BATON_CONFIG"] = str(config_path)
    config = load_config(config_path)
    connection = redis_connection(os.environ.get("REDIS_URL"), embedded_fallback=True)
    _clear_queues(connection)
    env = DemoEnvironment(directory, sandboxes, config, connection)
    env.log_file = open(directory / "workers.log", "wb")
    env.workers = spawn_workers(connection, workers, log_file=env.log_file)
    return env


def _clear_queues(connection: redis.Redis) -> None:
    """Forget Baton's queues and job keys from an earlier demo run (never other applications' keys)."""
    for pattern in ("rq:*baton:*", "baton:*"):
        keys = list(connection.scan_iter(match=pattern, count=1000))
        if keys:
            connection.delete(*keys)
