"""``baton sync``: one sync -> rules -> write-back run, with progress and a summary."""
from __future__ import annotations

import click

from app.commands._common import connect_or_exit, load_or_exit, run_progress, wide_console
from app.demo.report import api_table, counts_table, rules_table
from connectors.errors import CrmError


@click.command("sync")
@click.option("--config", "--file", "config_path", metavar="FILE", help="Configuration file (default: $BATON_CONFIG or ./baton.yaml).")
@click.option("--crm", type=click.Choice(["salesforce", "hubspot"]), help="Only this CRM.")
@click.option("--object", "object_name", metavar="NAME", help="Only this CRM object (e.g. Lead, contacts).")
@click.option("--full", is_flag=True, help="Read everything, not only what changed since the last sync.")
@click.option("--dry-run", is_flag=True, help="Read and decide; write nothing to the CRM or the audit log.")
@click.option("--queue", "queued", is_flag=True, help="Run on the RQ workers instead of in this process.")
def sync(config_path: str | None, crm: str | None, object_name: str | None, full: bool, dry_run: bool,
         queued: bool) -> None:
    """Sync records, apply the active rules and write the changed stages back."""
    from app.pipeline.context import PipelineContext
    from app.pipeline.runner import run_inline, run_queued, targets_for

    config = load_or_exit(config_path)
    if queued and dry_run:
        raise click.UsageError("--dry-run runs in this process; drop --queue")
    ctx = PipelineContext(config, connect_or_exit(config))
    try:
        targets = targets_for(ctx, crm, object_name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    console = wide_console()
    try:
        with run_progress("dry run" if dry_run else "sync") as progress:
            summary = (run_queued(ctx, targets, full=full, progress=progress) if queued
                       else run_inline(ctx, targets, full=full, dry_run=dry_run, progress=progress))
    except CrmError as exc:
        # Credentials, quota, an outage: say what the CRM said (never a secret) and what to do.
        hint = {"AuthError": "check the credentials (`baton config check`)",
                "RateLimited": "the CRM's API quota is spent; run again later or lower `limits:`",
                "RetriableError": "the CRM is failing; run again later"}.get(type(exc).__name__, "")
        raise click.ClickException(f"{exc}{'; ' + hint if hint else ''}") from None
    console.print(counts_table(f"Run {summary.run_id} ({summary.elapsed_s:.1f} s)", summary))
    console.print(rules_table("Decisions by rule", summary))
    console.print(api_table("API calls", summary))
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {note}")
    ctx.close()
    if queued and summary.notes:
        raise SystemExit(f"{len(summary.notes)} job(s) failed; see `baton status`")
    if not summary.finished:
        raise SystemExit("the run did not finish in time; see `baton status`")
