"""End to end: wall time of a full sync -> The Model -> write-back through RQ workers, with 0 ms and
50 ms of CRM latency, on 1, 2 and 4 workers (scaling ratio against 1 worker), in one run.

    .venv/bin/python bench/end_to_end.py                # 2,000 leads per CRM (+ accounts, opportunities)
    .venv/bin/python bench/end_to_end.py --full         # 100,000 leads per CRM
    .venv/bin/python bench/end_to_end.py --records 10000 --workers 1,2 --latency 0,50

Each configuration gets fresh sandboxes (seeded identically) and a fresh SQLite store, so every run
does the same work: read every record, decide, verify and write every change. The clock runs from
the enqueue of the sync jobs (``run_queued``) until the last write-back job of the run has finished;
worker start-up is outside it (the workers are up and idle first).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from app.pipeline.runner import run_queued, targets_for
from app.queueing import spawn_workers, stop_workers
from bench._common import BenchEnvironment, admin_for, bench_environment, machine

DEFAULT_RECORDS = 2_000
FULL_RECORDS = 100_000
RUN_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Result:
    latency_ms: int
    workers: int
    records_read: int
    written: int
    calls: int
    wall_s: float
    finished: bool


@contextmanager
def workers(env: BenchEnvironment, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` worker processes on the bench's Redis DB, up and registered before the clock starts."""
    with open(env.directory / "workers.log", "wb") as log:
        saved = dict(os.environ)
        os.environ.update(env.worker_env())      # spawn_workers hands its environment to the workers
        try:
            processes = spawn_workers(env.redis, count, log_file=log)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            deadline = time.monotonic() + 60
            while env.redis.scard("rq:workers") < count and time.monotonic() < deadline:
                time.sleep(0.1)
            yield processes
        finally:
            stop_workers(processes, timeout_s=60)


def measure(records: int, latency_ms: int, worker_count: int, seed: int) -> Result:
    with bench_environment(records, seed=seed, name=f"e2e-{latency_ms}-{worker_count}") as env:
        for crm in ("salesforce", "hubspot"):
            admin = admin_for(env.sandboxes, crm)
            if latency_ms:
                admin.set_faults(latency_ms=latency_ms)
            admin.reset_counters()
        ctx = env.context()
        ctx.store.migrate()                     # before the clock: a deployment's schema exists already
        with workers(env, worker_count):
            started = time.monotonic()
            summary = run_queued(ctx, targets_for(ctx), full=True, timeout_s=RUN_TIMEOUT_S, poll_s=0.05)
            wall = time.monotonic() - started
        calls = sum(admin_for(env.sandboxes, crm).counters()["total_calls"] for crm in ("salesforce", "hubspot"))
        ctx.close()
        return Result(latency_ms, worker_count, summary.counts.get("read", 0), summary.counts.get("written", 0),
                      calls, wall, summary.finished)


def table(results: Sequence[Result], records: int) -> Table:
    out = Table(title=f"Full sync -> rules -> write-back, {records:,} leads per CRM (both CRMs, all objects)")
    for column in ("latency", "workers", "records read", "written", "API calls", "wall time", "records/s",
                   "speed-up vs 1 worker"):
        out.add_column(column, justify="right")
    for result in results:
        base = next((r for r in results if r.latency_ms == result.latency_ms and r.workers == 1), None)
        speedup = f"{base.wall_s / result.wall_s:.2f}x" if base else "-"
        out.add_row(f"{result.latency_ms} ms", str(result.workers), f"{result.records_read:,}", f"{result.written:,}",
                    f"{result.calls:,}", f"{result.wall_s:.1f} s" + ("" if result.finished else " (timeout)"),
                    f"{result.records_read / result.wall_s:,.0f}", speedup)
    return out


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="leads per CRM (default %(default)s)")
    parser.add_argument("--full", action="store_true", help=f"{FULL_RECORDS:,} leads per CRM")
    parser.add_argument("--workers", type=_ints, default=[1, 2, 4], help="comma-separated (default 1,2,4)")
    parser.add_argument("--latency", type=_ints, default=[0, 50], help="ms, comma-separated (default 0,50)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    records = FULL_RECORDS if args.full else args.records
    console = Console(width=130)
    console.print(f"End to end through RQ workers: {records:,} leads per CRM; {machine()}")
    results = []
    for latency in args.latency:
        for count in args.workers:
            result = measure(records, latency, count, args.seed)
            console.print(f"  {latency} ms, {count} worker(s): {result.wall_s:.1f} s")
            results.append(result)
    console.print(table(results, records))
    return 0 if all(r.finished for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
