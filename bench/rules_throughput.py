"""Rules throughput: The Model playbook on Baton's two engines, its peers and a hand-written limit.

    .venv/bin/python bench/rules_throughput.py                  # 10,000 and 100,000 records per kind
    .venv/bin/python bench/rules_throughput.py --full           # adds 1,000,000
    .venv/bin/python bench/rules_throughput.py --sizes 1000000 --engines baton-durable

Every (engine, kind, size) runs in its own subprocess, so each peak memory (ru_maxrss) is its own.
A worker generates the seeded, messy records (rules/generate.py) in chunks of 10,000 and times only
the evaluation of each chunk (wall and CPU time), hashing every decision as it goes. The parent
checks that all engines decided identically: the decision core (record, rule, stage, score,
probability) for all five, the full Decision.outcome() for the four that build Decisions.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

NOW = date(2026, 11, 24)
CHUNK = 10_000
ENGINES = ("baton-durable", "baton-python", "zen-engine", "rule-engine", "hand-written")
KINDS = ("lead", "opportunity")
DEFAULT_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)


# ---------------------------------------------------------------- worker (one subprocess)
def make_engine(name: str, ruleset: Any) -> Any:
    if name == "baton-durable":
        from rules.durable_engine import DurableEngine
        return DurableEngine(ruleset)
    if name == "baton-python":
        from rules.pyengine import PythonEngine
        return PythonEngine(ruleset)
    if name in ("zen-engine", "rule-engine"):
        from _rules_peers import PeerEngine, rule_engine_list, zen_list
        return PeerEngine(ruleset, zen_list if name == "zen-engine" else rule_engine_list)
    import _handwritten_model
    return _handwritten_model


def run_worker(engine_name: str, kind: str, size: int, seed: int) -> dict[str, Any]:
    from rules.generate import RecordGenerator
    from rules.load import the_model
    ruleset = the_model()
    engine = make_engine(engine_name, ruleset)
    generator = RecordGenerator(ruleset.kind(kind), seed, NOW, True)
    core, full = hashlib.sha256(), hashlib.sha256()
    wall = cpu = 0.0
    for start in range(0, size, CHUNK):
        records = [generator.record(i) for i in range(start, min(size, start + CHUNK))]
        wall_0, cpu_0 = time.perf_counter(), time.process_time()
        decisions = engine.evaluate(kind, records, NOW)
        wall += time.perf_counter() - wall_0
        cpu += time.process_time() - cpu_0
        for decision in decisions:
            if isinstance(decision, tuple):
                core.update(repr(decision).encode())
            else:
                core.update(repr((decision.record_id, decision.rule_id, decision.to_stage, decision.score,
                                  decision.probability)).encode())
                full.update(repr(decision.outcome()).encode())
    return {"engine": engine_name, "kind": kind, "size": size, "wall": wall, "cpu": cpu,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "core": core.hexdigest()[:16], "full": full.hexdigest()[:16] if engine_name != "hand-written" else None}


# ---------------------------------------------------------------- parent
@dataclass
class Result:
    engine: str
    kind: str
    size: int
    wall: float
    cpu: float
    peak_mb: float
    core: str
    full: str | None

    @property
    def rate(self) -> float:
        return self.size / self.wall if self.wall else float("inf")

    @property
    def cpu_rate(self) -> float:
        return self.size / self.cpu if self.cpu else float("inf")


def measure(engine: str, kind: str, size: int, seed: int) -> Result:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", engine, kind, str(size),
                           str(seed)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} on {size} {kind} records failed:\n{done.stderr[-3000:]}")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({model}); Python {platform.python_version()}; "
            f"load average at start {load}")


def verdicts(results: list[Result]) -> dict[tuple[str, int], bool]:
    """(kind, size) -> whether all engines decided identically."""
    out: dict[tuple[str, int], bool] = {}
    for result in results:
        group = [r for r in results if (r.kind, r.size) == (result.kind, result.size)]
        fulls = {r.full for r in group if r.full is not None}
        out[(result.kind, result.size)] = len({r.core for r in group}) == 1 and len(fulls) <= 1
    return out


def print_table(results: list[Result], header: str) -> None:
    from rich.console import Console
    from rich.table import Table
    same = verdicts(results)
    table = Table(title="Rules throughput: The Model playbook", caption=header)
    for column in ("kind", "records", "engine", "records/s", "records/CPU-s", "peak RSS MB",
                   "vs hand-written", "identical"):
        table.add_column(column, justify="left" if column in ("kind", "engine") else "right")
    for result in results:
        limit = next((r for r in results if (r.engine, r.kind, r.size) == ("hand-written", result.kind, result.size)),
                     None)
        ratio = f"{result.rate / limit.rate:.3f}" if limit else "-"
        table.add_row(result.kind, f"{result.size:,}", result.engine, f"{result.rate:,.0f}",
                      f"{result.cpu_rate:,.0f}", f"{result.peak_mb:,.0f}", ratio,
                      "yes" if same[(result.kind, result.size)] else "NO")
    Console(width=140).print(table)
    print_summary(results)


def print_summary(results: list[Result]) -> None:
    """The playbook as a whole (all kinds together) per engine and size, against the targets."""
    sizes = sorted({r.size for r in results})
    engines = [e for e in ENGINES if any(r.engine == e for r in results)]
    print("\nThe Model, all kinds together (records / evaluation seconds), and the targets:")
    for size in sizes:
        rates: dict[str, float] = {}
        for engine in engines:
            mine = [r for r in results if r.engine == engine and r.size == size]
            if mine:
                rates[engine] = sum(r.size for r in mine) / sum(r.cpu for r in mine)
        line = ", ".join(f"{e} {v:,.0f}/CPU-s" for e, v in rates.items())
        print(f"  {size:>9,} per kind: {line}")
        durable, python = rates.get("baton-durable"), rates.get("baton-python")
        peers = [rates[p] for p in ("zen-engine", "rule-engine") if p in rates]
        if durable:
            ahead = f", {durable / max(peers):.2f}x the faster peer" if peers else ""
            print(f"    durable-rules path {'meets' if durable >= 20_000 else 'MISSES'} 20,000/s per core{ahead}")
        if python:
            print(f"    Python path {'meets' if python >= 500_000 else 'MISSES'} 500,000/s per core")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated record counts per kind (default 10000,100000)")
    parser.add_argument("--full", action="store_true", help="also 1,000,000 records per kind")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ", ".join(ENGINES))
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of lead, opportunity")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "KIND", "SIZE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        engine, kind, size, seed = args.worker
        print(json.dumps(run_worker(engine, kind, int(size), int(seed))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(FULL_SIZES if args.full else DEFAULT_SIZES)
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}")
    header = machine()
    print(header, flush=True)
    results: list[Result] = []
    for kind in args.kinds.split(","):
        for size in sizes:
            for engine in engines:
                result = measure(engine, kind, size, args.seed)
                print(f"  {kind:<12} {size:>9,} {engine:<14} {result.rate:>12,.0f} records/s "
                      f"{result.peak_mb:>7,.0f} MB", flush=True)
                results.append(result)
    print_table(results, header)
    if args.json:
        args.json.write_text(json.dumps({"machine": header, "results": [r.__dict__ for r in results]}, indent=1))
    return 0 if all(verdicts(results).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
