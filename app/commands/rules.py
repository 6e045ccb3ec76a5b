"""``baton rules``: validate, explain and test rules files (the playbook in executable form).

Exit status: 0 success; 1 rule tests failed; 2 the rules file (or an input) is invalid. Problems
are printed as ``FILE:LINE:COLUMN: message`` with a hint, never as a traceback.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from rules.casefile import load_cases, run_cases
from rules.engine import Decision
from rules.errors import RulesError
from rules.ir import Ruleset
from rules.load import load_ruleset
from rules.pyengine import PythonEngine

EXIT_FAILED = 1
EXIT_INVALID = 2
F = TypeVar("F", bound=Callable[..., Any])


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160     # pipes and CI logs: do not squeeze tables to 80
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _fail(message: str) -> None:
    _console(stderr=True).print(message, markup=False)
    sys.exit(EXIT_INVALID)


def _problems_exit(func: F) -> F:
    """Turn RulesError into FILE:LINE:COLUMN lines on stderr and exit status 2."""
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RulesError as exc:
            console = _console(stderr=True)
            for problem in exc.problems:
                console.print(str(problem), markup=False)
            console.print(f"{len(exc.problems)} problem(s) found", markup=False)
            sys.exit(EXIT_INVALID)
    return wrapper  # type: ignore[return-value]


@click.group("rules")
def rules() -> None:
    """Validate, explain and test rules files."""


@rules.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@_problems_exit
def validate(file: str) -> None:
    """Check FILE's schema and meaning; exit 0 when valid, 2 when not."""
    ruleset = load_ruleset(file)
    counts = ", ".join(f"{kind}: {len(k.rules)} rules, {len(k.scoring.signals) if k.scoring else 0} signals, "
                       f"{len(k.gates)} gates" for kind, k in ruleset.kinds.items())
    _console().print(f"{file}: valid ({ruleset.version}; {counts})", markup=False)


def _parse_now(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"--now: {value!r} is not a date (write YYYY-MM-DD)")
        raise  # unreachable: _fail exits


def _read_records(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        _fail(f"{path}: cannot read the record: {exc.strerror}")
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(f"{path}: not valid JSON: {exc}")
    records = data if isinstance(data, list) else [data]
    if not records or not all(isinstance(r, dict) for r in records):
        _fail(f"{path}: expected a JSON object (one record) or a list of objects")
    return records


def _kind_of(record: dict[str, Any], option: str | None, ruleset: Ruleset, path: str) -> str:
    kind = option or record.get("kind")
    if kind is None:
        with_stages = [name for name, k in ruleset.kinds.items() if k.stages]
        if len(with_stages) == 1:
            return with_stages[0]
        _fail(f"{path}: say which kind the record is: --kind {' or --kind '.join(ruleset.kinds)}")
    if not isinstance(kind, str) or kind not in ruleset.kinds:
        _fail(f"{path}: the ruleset has no kind {kind!r} (it has: {', '.join(ruleset.kinds)})")
    return str(kind)


@rules.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("record_file", metavar="RECORD.json", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option("--now", "now_text", metavar="YYYY-MM-DD", help="Evaluation date (default: today, UTC).")
@click.option("--kind", "kind_option", help="Record kind (default: the record's \"kind\" key).")
@_problems_exit
def explain(file: str, record_file: str, as_json: bool, now_text: str | None, kind_option: str | None) -> None:
    """Show the decision for the record(s) in RECORD.json and why it was made."""
    ruleset = load_ruleset(file)
    records = _read_records(record_file)
    now = _parse_now(now_text)
    engine = PythonEngine(ruleset)
    decisions = [engine.explain(_kind_of(r, kind_option, ruleset, record_file), r, now) for r in records]
    if as_json:
        payload = [dict(d.to_json(), now=now.isoformat()) for d in decisions]
        click.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, sort_keys=True))
        return
    console = _console()
    for decision in decisions:
        _print_decision(console, decision, now)


def _print_decision(console: Console, d: Decision, now: date) -> None:
    move = f"{d.from_stage} -> {d.to_stage}" if d.changed_stage else f"stays {d.to_stage}"
    console.print(f"[bold]record {d.record_id}[/bold]: {d.kind} ({move})", highlight=False)
    console.print(f"  rule: {d.rule_id or '(no rule matched)'}   reason: {d.reason or '-'}", markup=False)
    console.print(f"  ruleset {d.ruleset_version}, evaluated as of {now.isoformat()}", markup=False)
    if d.held:
        table = Table("condition that held", "value", title="why", title_justify="left")
        for held in d.held:
            table.add_row(held.label, held.display)
        console.print(table)
    if d.missing_criteria:
        console.print("  missing criteria: " + ", ".join(d.missing_criteria), markup=False)
    if d.score is not None:
        table = Table("signal", "group", "points", title=f"score {d.score}", title_justify="left")
        for contribution in d.contributions:
            table.add_row(contribution.signal, contribution.group, str(contribution.points))
        for group in d.groups:
            table.add_row(f"= {group.group} subtotal", f"raw {group.raw}, capped {group.capped}",
                          f"{group.decayed:g} after decay")
        console.print(table)
    if d.probability is not None:
        console.print(f"  probability: {d.probability:g}%", markup=False)
    fields = ", ".join(f"{k}={v.isoformat() if isinstance(v, date) else v!r}" for k, v in d.set_fields.items())
    console.print(f"  fields to set: {fields or '-'}", markup=False)


def _summary(d: Decision) -> str:
    text = f"{d.kind} {d.from_stage}->{d.to_stage}"
    if d.score is not None:
        text += f" score={d.score}"
    if d.probability is not None:
        text += f" p={d.probability:g}%"
    return text


@rules.command("test")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("cases_file", metavar="CASES.yaml", type=click.Path(dir_okay=False))
@_problems_exit
def test(file: str, cases_file: str) -> None:
    """Run the given-record / expected-outcome cases in CASES.yaml against FILE."""
    ruleset = load_ruleset(file)
    results = run_cases(ruleset, load_cases(cases_file, ruleset))
    table = Table("", "case", "kind", "decision", "details")
    for result in results:
        d = result.decision
        summary = _summary(d) if d else "-"
        mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        table.add_row(mark, result.case.name, result.case.kind, summary, "\n".join(result.failures))
    console = _console()
    console.print(table)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed ({ruleset.version})", markup=False)
    if failed:
        sys.exit(EXIT_FAILED)
