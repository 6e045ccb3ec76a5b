"""Tables people would rather see than read: what a run did, by rule, and what it cost in API calls."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from app.pipeline.runner import RunSummary
from app.store import Decision, Store


def counts_table(title: str, summary: RunSummary) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("read", "changed", "decided", "planned", "written", "held", "conflict", "failed",
                   "deleted"):
        table.add_column(column, justify="right", no_wrap=True)
    c = summary.counts
    table.add_row(*(str(c.get(k, 0)) for k in ("read", "changed", "evaluated", "planned", "written",
                                                "held_back", "conflict", "failed", "deleted")))
    return table


def rules_table(title: str, summary: RunSummary) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("rule")
    table.add_column("decisions with writes", justify="right")
    for rule, count in summary.by_rule.most_common():
        table.add_row(rule, str(count))
    return table


def transitions_table(title: str, decisions: Iterable[Decision]) -> Table:
    moves: Counter[tuple[str, str, str, str]] = Counter()
    for d in decisions:
        if d.from_stage != d.to_stage and d.status is not None:
            moves[(d.rule_id or "-", d.from_stage or "-", d.to_stage or "-", str(d.status))] += 1
    table = Table(title=title, title_justify="left")
    for column in ("rule", "from", "to", "status"):
        table.add_column(column)
    table.add_column("records", justify="right")
    for (rule, before, after, status), count in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(rule, before, after, status, str(count))
    return table


def api_table(title: str, summary: RunSummary) -> Table:
    table = Table(title=title, title_justify="left")
    for column, justify in (("CRM:operation", "left"), ("records", "right"), ("calls used", "right"),
                            ("minimum", "right"), ("used / minimum", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, row in summary.api_calls.items():
        ratio = f"{row['calls'] / row['minimum']:.2f}" if row["minimum"] else "-"
        table.add_row(name, str(row["records"]), str(row["calls"]), str(row["minimum"]), ratio)
    total_ratio = f"{summary.total_calls / summary.total_minimum:.2f}" if summary.total_minimum else "-"
    table.add_row("total", "", str(summary.total_calls), str(summary.total_minimum), total_ratio, style="bold")
    return table


def held_back_table(store: Store, run_id: str) -> Table:
    table = Table(title="Manual changes held back (not clobbered)", title_justify="left")
    for column in ("CRM", "object", "record", "rules wanted", "why"):
        table.add_column(column)
    for decision in store.run_decisions(run_id, status="held_back"):
        table.add_row(decision.crm, decision.object, decision.record_id, decision.to_stage or "-", decision.reason)
    return table


def print_tables(console: Console, *tables: Table) -> None:
    for table in tables:
        console.print(table)
