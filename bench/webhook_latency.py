"""Webhook latency: a HubSpot webhook received by Baton -> the decided stage written in the CRM.

    .venv/bin/python bench/webhook_latency.py [--records 5000] [--workers 1,2] [--rates 20,100]

Everything is real and local: the HubSpot sandbox (no added latency) sends signed webhook batches
for rep edits (``inquiry_submitted = true`` on nurturing contacts, which qualifies them), Baton's
web service (``create_app`` + ``build_services``) answers and queues, RQ worker subprocesses fetch,
evaluate and write back, Redis DB 9 and a SQLite store. For each worker count and rate the edits
are paced for a fixed time; per contact the script records when Baton received the webhook
naming it and when the sandbox committed Baton's ``lifecyclestage`` write, and prints p50/p95/p99.

By default the HubSpot API limits of the sandbox and of Baton's limiter are lifted, so the figure
is the pipeline's own latency; ``--real-limits`` keeps HubSpot's (190 calls / 10 s) and Baton's
configured pacing, to see the backlog real limits cause. Bounded: about 3 minutes by default.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import load_config
from app.demo.webhooks_phase import LiveService, subscribe
from app.pipeline.context import PipelineContext
from app.pipeline.runner import run_queued
from app.queueing import spawn_workers, stop_workers
from connectors.sandbox.webhooks import start_sandboxes_with_webhooks

REDIS_URL = "redis://127.0.0.1:6379/9"
QUALIFIED = "marketingqualifiedlead"


@dataclass
class Result:
    workers: int
    rate: int
    sent: int
    received: dict[str, float]
    written: dict[str, float]
    edited: dict[str, float]
    elapsed_s: float

    def latencies_ms(self) -> list[float]:
        return sorted((self.written[i] - self.received[i]) * 1000 for i in self.edited
                      if i in self.written and i in self.received)

    def end_to_end_ms(self) -> list[float]:
        return sorted((self.written[i] - self.edited[i]) * 1000 for i in self.edited if i in self.written)


@dataclass
class Bench:
    sandboxes: Any
    senders: Any
    connection: redis.Redis
    config_path: Path
    directory: Path
    service: LiveService | None = None
    written: dict[str, float] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)

    def on_change(self, event: Any) -> None:
        """Sandbox store listener: when Baton's write of the qualified stage commits."""
        if event.source == "INTEGRATION" and event.changes.get("lifecyclestage") == QUALIFIED:
            self.written.setdefault(event.record_id, time.time())


def configure(directory: Path, info: dict[str, Any], real_limits: bool) -> tuple[Path, dict[str, str]]:
    hs = info["hubspot"]
    hubspot: dict[str, Any] = {"host": hs["host"], "schedule": {"lookback": 0}}
    if not real_limits:
        hubspot["limits"] = {"rate": {"requests": 100_000, "period": "10s", "burst": 10_000},
                             "ten_second_requests": 100_000}
    document = {"database_url": f"sqlite:///{directory / 'baton.db'}", "hubspot": hubspot}
    path = directory / "baton.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, {"BATON_HUBSPOT_ACCESS_TOKEN": hs["access_token"], "BATON_HUBSPOT_CLIENT_SECRET": hs["client_secret"]}


def setup(records: int, real_limits: bool) -> Bench:
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    directory = Path(tempfile.mkdtemp(prefix="baton-webhook-bench-"))
    sandboxes, senders = start_sandboxes_with_webhooks(records=records, seed=42, state_dir=directory / "sandbox")
    if not real_limits:
        from connectors.sandbox.hubspot.ratelimit import Limits
        sandboxes.hubspot.limiter.limits = Limits(interval_max=1_000_000, secondly=100_000)
    config_path, secrets = configure(directory, sandboxes.info, real_limits)
    os.environ.update({**secrets, "BATON_CONFIG": str(config_path), "REDIS_URL": REDIS_URL})
    bench = Bench(sandboxes, senders, connection, config_path, directory)
    sandboxes.hubspot.store.add_listener(bench.on_change)
    return bench


def initial_sync(bench: Bench) -> None:
    config = load_config(bench.config_path)
    ctx = PipelineContext(config, bench.connection)
    with open(bench.directory / "workers.log", "ab") as log:
        workers = spawn_workers(bench.connection, 2, log_file=log)
        try:
            summary = run_queued(ctx, [("hubspot", "contacts")], full=True, timeout_s=300)
        finally:
            stop_workers(workers, timeout_s=30)
    if not summary.finished or summary.notes or not summary.counts.get("read"):
        raise SystemExit(f"the initial sync did not finish ({summary.notes or dict(summary.counts)}); "
                         f"see {bench.directory / 'workers.log'}")
    store = bench.sandboxes.hubspot.store
    with store.lock:
        bench.pool = [str(r.id) for r in store.tables["contacts"].records.values()
                      if r.properties.get("lifecyclestage") == "lead" and r.properties.get("hs_lead_status") == "IN_PROGRESS"
                      and r.properties.get("email") and r.properties.get("inquiry_submitted") != "true"
                      and r.properties.get("catalogue_requested") != "true"
                      and not float(r.properties.get("baton_recycle_count") or 0)   # recycled leads wait a week
                      and r.properties.get("no_response") != "true"]
    bench.service = LiveService.start(config, bench.connection, hubspot_secret=bench.sandboxes.info["hubspot"]["client_secret"],
                                      organization_id="00D5g000004BATONAA")
    subscribe(bench.sandboxes.info, bench.service, backoff_scale=0.01, batch_ms=20)


def run_load(bench: Bench, workers: int, rate: int, seconds: float, drain_s: float) -> Result:
    count = int(rate * seconds)
    if len(bench.pool) < count:
        raise SystemExit(f"only {len(bench.pool)} nurturing contacts left; use more --records")
    ids, bench.pool = bench.pool[:count], bench.pool[count:]
    assert bench.service is not None
    with open(bench.directory / "workers.log", "ab") as log:
        processes = spawn_workers(bench.connection, workers, log_file=log)
        time.sleep(2.0)                       # let them register and idle (not part of the latency)
        edited = _pace_edits(bench, ids, rate)
        deadline = time.time() + drain_s
        while time.time() < deadline and not all(i in bench.written for i in ids):
            time.sleep(0.05)
        stop_workers(processes, timeout_s=30)
    missing = [i for i in ids if i not in bench.written]
    if missing:
        store = bench.sandboxes.hubspot.store
        with store.lock:
            states = {i: {k: store.get("contacts", i).properties.get(k)
                          for k in ("lifecyclestage", "hs_lead_status", "disqualified_reason", "email")}
                      for i in missing[:5]}
        print(f"  not written ({len(missing)}), e.g.: {states}; webhook seen: "
              f"{[i in bench.service.first_seen for i in missing[:5]]}; failed deliveries: "
              f"{[vars(r) for r in bench.senders.hubspot.deliverer.records if r.outcome != 'delivered'][:3]}",
              file=sys.stderr)
    return Result(workers, rate, count, dict(bench.service.first_seen), dict(bench.written), edited,
                  time.time() - min(edited.values()))


def _pace_edits(bench: Bench, ids: list[str], rate: int) -> dict[str, float]:
    """One rep edit every 1/rate seconds, from a thread (each becomes one webhook event)."""
    store = bench.sandboxes.hubspot.store
    today = time.strftime("%Y-%m-%d", time.gmtime())
    edited: dict[str, float] = {}
    started = time.time()
    for n, record_id in enumerate(ids):
        delay = started + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        edited[record_id] = time.time()
        store.update("contacts", record_id, {"inquiry_submitted": "true", "last_activity_date": today},
                     source="CRM_UI")
    return edited


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(results: list[Result], real_limits: bool) -> Table:
    table = Table(title=f"Webhook received -> stage written in the sandbox "
                        f"({'real HubSpot limits' if real_limits else 'API limits lifted'})", title_justify="left")
    for column in ("workers", "webhooks/s", "edits", "written", "p50 ms", "p95 ms", "p99 ms", "max ms",
                   "edit->written p50 ms"):
        table.add_column(column, justify="right")
    for r in results:
        lat, e2e = r.latencies_ms(), r.end_to_end_ms()
        table.add_row(str(r.workers), str(r.rate), str(r.sent), str(len(e2e)), f"{percentile(lat, 50):.0f}",
                      f"{percentile(lat, 95):.0f}", f"{percentile(lat, 99):.0f}", f"{max(lat, default=float('nan')):.0f}",
                      f"{percentile(e2e, 50):.0f}")
    return table


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {os.cpu_count()} CPUs {model}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="contacts seeded (nurturing ones are edited)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rates", default="20,100")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of load per worker count and rate")
    parser.add_argument("--drain", type=float, default=25.0, help="seconds to wait for the last writes")
    parser.add_argument("--real-limits", action="store_true")
    args = parser.parse_args()
    console = Console()
    console.print(f"Machine: {machine()}")
    bench = setup(args.records, args.real_limits)
    results: list[Result] = []
    try:
        initial_sync(bench)
        console.print(f"{len(bench.pool)} nurturing contacts to edit; store in {bench.directory}")
        for workers in (int(w) for w in args.workers.split(",")):
            for rate in (int(r) for r in args.rates.split(",")):
                results.append(run_load(bench, workers, rate, args.seconds, args.drain))
                console.print(report(results[-1:], args.real_limits))
    finally:
        if bench.service is not None:
            bench.service.stop()
        bench.senders.stop()
        bench.sandboxes.stop()
        bench.connection.flushdb()
    console.print(report(results, args.real_limits))


if __name__ == "__main__":
    main()
