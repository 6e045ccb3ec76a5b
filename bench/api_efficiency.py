"""API efficiency: CRM calls Baton spends on a full sync and on an unchanged second sync, next to the
theoretical minimum and to a naive per-record writer, in the same run.

    .venv/bin/python bench/api_efficiency.py            # 10,000 leads + 2,000 opportunities per CRM
    .venv/bin/python bench/api_efficiency.py --full     # 100,000 leads + 20,000 opportunities per CRM

Baton runs in-process (``run_inline``: sync -> The Model -> verify -> batched write-back), so the
figures are API calls, not scheduling. The naive baseline is what most in-house scripts do: read
everything, then one update call per changed record through the same SDK (simple-salesforce
``sf.Lead.update``, hubspot-api-client ``basic_api.update``), writing exactly the values Baton wrote,
against a second sandbox pair seeded identically. Every call is counted by the sandboxes themselves.

Exit status 1 if the second sync (no CRM changes) writes anything.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from hubspot import HubSpot
from hubspot.crm.objects import SimplePublicObjectInput
from rich.console import Console
from rich.table import Table
from simple_salesforce import Salesforce
from urllib3.util.retry import Retry

from app.pipeline.runner import RunSummary, run_inline
from app.store import Decision, DecisionStatus
from bench._common import BenchEnvironment, admin_for, bench_environment, crm_record_counts, machine, ratio
from connectors.hubspot_write import encode, is_backward

DEFAULT_RECORDS = 10_000
FULL_RECORDS = 100_000
TARGETS = [("salesforce", "Lead"), ("salesforce", "Opportunity"), ("hubspot", "contacts"), ("hubspot", "deals")]
READ_PAGE = {"salesforce": 2000, "hubspot": 200}       # SOQL query page; CRM search page
WRITE_BATCH = {"salesforce": 200, "hubspot": 100}      # sObject Collections; batch update
VERIFY_BATCH = {"salesforce": 200, "hubspot": 100}     # ids per WHERE Id IN (...) query; batch read
LOGIN_ENDPOINTS = ("POST Soap/u/login", "POST oauth2/token")
GROUPS = {"read": "read", "verify": "verify", "fetch": "verify", "write": "write", "write_clear": "write",
          "write_check": "other", "deleted": "other", "delete_scan": "other", "auth": "other"}


# ------------------------------------------------------------------------------------------- Baton
def baton_calls(summary: RunSummary) -> dict[str, Counter[str]]:
    """Calls per CRM and group (read / verify / write / other) from Baton's ledger."""
    result: dict[str, Counter[str]] = {"salesforce": Counter(), "hubspot": Counter()}
    for name, figures in summary.api_calls.items():
        crm, *_, operation = name.split(":")
        result[crm][GROUPS.get(operation, "other")] += figures["calls"]
    return result


def written_decisions(env_ctx: Any, run_id: str) -> list[Decision]:
    return env_ctx.store.run_decisions(run_id, status=DecisionStatus.WRITTEN)


def minimum_calls(records: dict[tuple[str, str], int], written: list[Decision]) -> dict[str, Counter[str]]:
    """The theoretical minimum per group: every record read once at the largest page; every changed
    record re-read once (verify) and written once at the largest batch (HubSpot backward lifecycle
    moves need their clear batch too); one deleted-records scan per object and, on Salesforce, one
    login ("other"). The bare minimum of the job is read + write (see ``bare_minimum``)."""
    result: dict[str, Counter[str]] = {"salesforce": Counter(other=1), "hubspot": Counter()}
    for (crm, _), count in records.items():
        result[crm]["read"] += math.ceil(count / READ_PAGE[crm])
        result[crm]["other"] += 1
    for (crm, object_name) in TARGETS:
        mine = [d for d in written if d.crm == crm and d.object == object_name and d.explanation.get("write")]
        backward = [d for d in mine if _backward(d)]
        result[crm]["verify"] += math.ceil(len(mine) / VERIFY_BATCH[crm])
        result[crm]["write"] += math.ceil(len(mine) / WRITE_BATCH[crm]) + math.ceil(len(backward) / WRITE_BATCH[crm])
    return result


def bare_minimum(minimum: dict[str, Counter[str]], crm: str) -> int:
    """Reads and writes only: what the job needs without Baton's safety re-read and delete scans."""
    return minimum[crm]["read"] + minimum[crm]["write"]


def _backward(decision: Decision) -> bool:
    new = decision.explanation.get("write", {}).get("lifecyclestage")
    return decision.crm == "hubspot" and bool(new) and is_backward(
        decision.explanation.get("read", {}).get("lifecyclestage"), str(new))


# ------------------------------------------------------------------------------------------- naive
def naive_run(env: BenchEnvironment, written: list[Decision]) -> dict[str, Counter[str]]:
    """Read everything, then one SDK update call per changed record; calls counted by the sandboxes."""
    ctx = env.context()
    for crm in ("salesforce", "hubspot"):
        admin_for(env.sandboxes, crm).reset_counters()
    for crm, object_name in TARGETS:
        for _ in ctx.connector(crm).read_changed(object_name, None, lookback=timedelta(0)):
            pass
    counted = {crm: admin_for(env.sandboxes, crm).counters() for crm in ("salesforce", "hubspot")}
    logins = {crm: sum(counted[crm]["calls"].get(k, 0) for k in LOGIN_ENDPOINTS) for crm in counted}
    reads = {crm: counted[crm]["total_calls"] - logins[crm] for crm in counted}
    ctx.close()
    _naive_salesforce(env.sandboxes.info["salesforce"], [d for d in written if d.crm == "salesforce"])
    _naive_hubspot(env.sandboxes.info["hubspot"], [d for d in written if d.crm == "hubspot"])
    result: dict[str, Counter[str]] = {}
    for crm in ("salesforce", "hubspot"):
        total = admin_for(env.sandboxes, crm).counters()["total_calls"]
        result[crm] = Counter(read=reads[crm], other=logins[crm], write=total - reads[crm] - logins[crm])
    return result


def _naive_salesforce(info: dict[str, Any], decisions: list[Decision]) -> None:
    session = requests.Session()
    session.trust_env, session.verify = False, info["ca_cert"]
    sf = Salesforce(instance_url=info["instance_url"], session_id=info["session_id"], session=session)
    for decision in decisions:
        getattr(sf, decision.object).update(decision.record_id, decision.explanation["write"])


def _naive_hubspot(info: dict[str, Any], decisions: list[Decision]) -> None:
    client = HubSpot(access_token=info["access_token"], host=info["host"], base_url=info["host"],
                     retry=Retry(total=0))
    for decision in decisions:
        api = getattr(client.crm, decision.object).basic_api
        properties = {name: encode(value) for name, value in decision.explanation["write"].items()}
        if _backward(decision):        # forward-only lifecycle: a script must clear it first too
            api.update(decision.record_id, SimplePublicObjectInput(properties={"lifecyclestage": ""}))
        api.update(decision.record_id, SimplePublicObjectInput(properties=properties))


# ------------------------------------------------------------------------------------------ report
def efficiency_table(title: str, baton: dict[str, Counter[str]], minimum: dict[str, Counter[str]],
                     naive: dict[str, Counter[str]]) -> Table:
    table = Table(title=title)
    for column in ("CRM", "calls for", "Baton", "minimum", "Baton / minimum", "naive", "naive / Baton"):
        table.add_column(column, justify="left" if column in ("CRM", "calls for") else "right")
    for crm in ("salesforce", "hubspot"):
        for group in ("read", "verify", "write", "other", "total"):
            mine = sum(baton[crm].values()) if group == "total" else baton[crm][group]
            least = sum(minimum[crm].values()) if group == "total" else minimum[crm][group]
            theirs = sum(naive[crm].values()) if group == "total" else naive[crm][group]
            table.add_row(crm if group == "read" else "", group, f"{mine:,}", f"{least:,}", ratio(mine, least),
                          f"{theirs:,}", ratio(theirs, mine), end_section=group == "total")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS,
                        help="leads/contacts per CRM; opportunities/deals are a fifth (default %(default)s)")
    parser.add_argument("--full", action="store_true", help=f"{FULL_RECORDS:,} leads + {FULL_RECORDS // 5:,} opportunities")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    records = FULL_RECORDS if args.full else args.records
    console = Console(width=130)
    console.print(f"API efficiency: {records:,} leads/contacts and {records // 5:,} opportunities/deals per CRM; "
                  f"{machine()}")
    with bench_environment(records, seed=args.seed, name="api") as env:
        ctx = env.context()
        started = time.monotonic()
        first = run_inline(ctx, TARGETS, full=True)
        first_s = time.monotonic() - started
        counters_first = {crm: admin_for(env.sandboxes, crm).counters() for crm in ("salesforce", "hubspot")}
        for crm in ("salesforce", "hubspot"):
            admin_for(env.sandboxes, crm).reset_counters()
        started = time.monotonic()
        second = run_inline(ctx, TARGETS, full=False)
        second_s = time.monotonic() - started
        counters_second = {crm: admin_for(env.sandboxes, crm).counters() for crm in ("salesforce", "hubspot")}
        written = written_decisions(ctx, first.run_id)
        in_crm = crm_record_counts(env.sandboxes, TARGETS)
        stored = _object_sizes(ctx)
        ctx.close()
    with bench_environment(records, seed=args.seed, name="naive") as naive_env:
        started = time.monotonic()
        naive = naive_run(naive_env, written)
        naive_s = time.monotonic() - started
    status = report(console, records, first, second, written, in_crm, naive, counters_first, counters_second,
                    (first_s, second_s, naive_s))
    return max(status, coverage(console, in_crm, stored))


def coverage(console: Console, in_crm: dict[tuple[str, str], int], stored: dict[tuple[str, str], int]) -> int:
    """1 (and a message) if the full sync left records of some object unread."""
    missing = {key: in_crm[key] - stored.get(key, 0) for key in in_crm if stored.get(key, 0) < in_crm[key]}
    for (crm, object_name), count in missing.items():
        console.print(f"FAIL: the full sync never read {count:,} of {in_crm[(crm, object_name)]:,} "
                      f"{crm} {object_name} (the store holds {stored.get((crm, object_name), 0):,})")
    return 1 if missing else 0


def _object_sizes(ctx: Any) -> dict[tuple[str, str], int]:
    """Records per object, as the store holds them after the full sync."""
    return {(crm, object_name): sum(len(page) for page in ctx.store.iter_snapshots(crm=crm, object=object_name))
            for crm, object_name in TARGETS}


def report(console: Console, records: int, first: RunSummary, second: RunSummary, written: list[Decision],
           read_counts: dict[tuple[str, str], int], naive: dict[str, Counter[str]],
           counters_first: dict[str, Any], counters_second: dict[str, Any], times: tuple[float, float, float]) -> int:
    baton = baton_calls(first)
    minimum = minimum_calls(read_counts, written)
    console.print(efficiency_table(f"Full sync: {records:,} leads + {records // 5:,} opportunities per CRM "
                                   f"({len(written):,} records changed)", baton, minimum, naive))
    for crm in ("salesforce", "hubspot"):
        ledger, sandbox = sum(baton[crm].values()), counters_first[crm]["total_calls"]
        bare = bare_minimum(minimum, crm)
        console.print(f"  {crm}: Baton's ledger {ledger:,} calls, the sandbox counted {sandbox:,}"
                      + ("" if ledger == sandbox else "  (MISMATCH)")
                      + f"; bare minimum (read + write, no verify) {bare:,}: Baton / bare = {ratio(ledger, bare)}")
    second_calls = baton_calls(second)
    second_writes = second.counts.get("written", 0)
    table = Table(title="Second sync, no CRM changes")
    for column in ("CRM", "calls", "read", "verify", "write", "other", "records written"):
        table.add_column(column, justify="left" if column == "CRM" else "right")
    for crm in ("salesforce", "hubspot"):
        calls = second_calls[crm]
        written_here = sum(n for k, n in counters_second[crm]["records"].items()
                           if "composite/sobjects" in k and k.startswith("PATCH") or "batch/update" in k)
        table.add_row(crm, f"{sum(calls.values()):,}", *(f"{calls[g]:,}" for g in ("read", "verify", "write", "other")),
                      f"{written_here:,}")
    console.print(table)
    console.print(f"Wall time: full sync {times[0]:.1f} s, second sync {times[1]:.1f} s, naive run {times[2]:.1f} s")
    console.print(f"Second sync writes: {second_writes}"
                  + ("" if second_writes == 0 else f"  FAIL: an unchanged CRM must cost no writes "
                                                   f"(decided by rule: {dict(second.by_rule)})"))
    return 0 if second_writes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
