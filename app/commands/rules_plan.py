"""``baton rules plan FILE``: what a rules file would do to every stored record, nothing written.

Registers ``plan`` on the ``rules`` group of :mod:`app.commands.rules` when imported, so the CLI
gains it as soon as this module is loaded (``app/cli.py`` lists it). Exit status: 0 the plan was
shown; 2 the rules file or the configuration is invalid (problems as ``FILE:LINE:COLUMN``).
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from app.commands.rules import EXIT_INVALID, _console, rules
from rules.errors import RulesError
from rules.load import load_ruleset

JsonDict = dict[str, Any]


@click.command("plan")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--config", "config_path", metavar="FILE", help="Configuration file (default: $BATON_CONFIG or ./baton.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Records listed in the per-record diff (the matrices always count every record).")
def plan(file: str, config_path: str | None, as_json: bool, limit: int) -> None:
    """Dry-run FILE against every stored record: transitions by count and by amount, backward
    moves, recycles and per-record changes. Nothing is written and no CRM is called."""
    from app.commands._common import load_or_exit
    from app.pipeline.context import PipelineContext
    from app.pipeline.dryrun import dry_run

    try:
        ruleset = load_ruleset(file)
    except RulesError as exc:
        console = _console(stderr=True)
        for problem in exc.problems:
            console.print(str(problem), markup=False)
        console.print(f"{len(exc.problems)} problem(s) found; nothing was planned", markup=False)
        sys.exit(EXIT_INVALID)
    except OSError as exc:
        _console(stderr=True).print(f"{file}: cannot read the rules file: {exc.strerror}", markup=False)
        sys.exit(EXIT_INVALID)
    config = load_or_exit(config_path)
    # The dry run reads only the store: no Redis, no CRM (the context builds those lazily).
    ctx = PipelineContext(config, redis=None)  # type: ignore[arg-type]
    report = dry_run(ctx, ruleset, filename=file, limit=limit if not as_json else 10**9)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
        return
    print_report(_console(), report, limit)


def print_report(console: Console, report: JsonDict, limit: int = 20) -> None:
    """The report as rich tables: the matrix by count, by amount, backward moves, record diffs."""
    console.print(f"[bold]Dry run of {report['filename']}[/bold] (ruleset {report['ruleset_version']}): "
                  f"{report['records']} stored records, {report['would_change']} would change, "
                  f"{report['stage_moves']} would move stage, {report['held_back']} held back by manual changes",
                  highlight=False)
    if not report["records"]:
        console.print("No stored records: run `baton sync` first, then plan again.", markup=False)
        return
    by_kind: dict[str, list[JsonDict]] = defaultdict(list)
    for cell in report["transitions"]:
        by_kind[cell["kind"]].append(cell)
    for kind, cells in by_kind.items():
        console.print(matrix_table(f"{kind}: records moving (from -> to), by count", cells, "count"))
        if any(cell["amount"] for cell in cells):
            console.print(matrix_table(f"{kind}: amount moving (from -> to)", cells, "amount"))
    if not by_kind:
        console.print("No record would change stage.", markup=False)
    if report["backward"] and limit:
        console.print(moves_table(f"Backward moves ({len(report['backward'])}, recycles included)",
                                  report["backward"][:limit]))
    if report["by_rule"]:
        table = Table("rule", "records with changes", title="By rule", title_justify="left")
        for rule, count in report["by_rule"].items():
            table.add_row(rule, str(count))
        console.print(table)
    if limit and report["diffs"]:
        console.print(diff_table(report["diffs"][:limit], len(report["diffs"]) + report.get("diffs_truncated", 0)))


def matrix_table(title: str, cells: list[JsonDict], value: str) -> Table:
    """A from x to matrix of ``value`` ("count" or "amount"), with row totals."""
    sources = sorted({c["from"] for c in cells})
    targets = sorted({c["to"] for c in cells})
    grid = {(c["from"], c["to"]): c[value] for c in cells}
    table = Table(title=title, title_justify="left")
    table.add_column("from \\ to")
    for target in targets:
        table.add_column(target, justify="right")
    table.add_column("total", justify="right", style="bold")
    for source in sources:
        row = [grid.get((source, t)) for t in targets]
        table.add_row(source, *(_fmt(v) if v else "" for v in row), _fmt(sum(v or 0 for v in row)))
    return table


def moves_table(title: str, moves: list[JsonDict]) -> Table:
    table = Table("CRM", "record", "from", "to", "rule", "reason", title=title, title_justify="left")
    for m in moves:
        table.add_row(m["crm"], f"{m['object']}/{m['record_id']}", m["from"], m["to"], m["rule"] or "-", m["reason"])
    return table


def diff_table(diffs: list[JsonDict], total: int) -> Table:
    table = Table("CRM", "record", "from -> to", "rule", "reason", "changed fields",
                  title=f"Per-record changes (first {len(diffs)} of {total})", title_justify="left")
    for d in diffs:
        changes = "\n".join(f"{f}: {c['from']!r} -> {c['to']!r}" for f, c in d["changes"].items())
        move = f"{d['from']} -> {d['to']}" if d["from"] != d["to"] else f"stays {d['from']}"
        table.add_row(d["crm"], f"{d['object']}/{d['record_id']}", move, d["rule"] or "score", d["reason"], changes)
    return table


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


rules.add_command(plan)
