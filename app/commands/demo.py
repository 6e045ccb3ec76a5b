"""``baton demo``: Baton's main job on embedded defaults, start to finish.

Seeds both CRM sandboxes, runs a full sync -> The Model playbook -> write-back through real RQ
workers, lets sales reps change some records in the CRMs (one of them a manual stage change Baton
must not clobber), runs the incremental sync, and summarises what happened and what it cost.
"""
from __future__ import annotations

import time
from pathlib import Path

import click
from rich.panel import Panel
from rich.table import Table


@click.command("demo")
@click.option("--records", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Leads/contacts per CRM (accounts: a tenth, opportunities: a fifth).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--workers", type=click.IntRange(min=1, max=8), default=2, show_default=True)
@click.option("--directory", type=click.Path(path_type=Path), default=Path(".baton/demo"), show_default=True,
              help="Where the demo keeps its database, configuration and logs (recreated each run).")
@click.option("--webhooks/--no-webhooks", default=True, show_default=True,
              help="End with webhook-driven changes: Baton's service receives the sandboxes' webhooks live.")
def demo(records: int, seed: int, workers: int, directory: Path, webhooks: bool) -> None:
    """Run The Model on both CRM sandboxes through real workers, and show the result."""
    from app.demo import environment, reps
    from app.demo.report import api_table, counts_table, held_back_table, transitions_table
    from app.pipeline.context import PipelineContext
    from app.pipeline.runner import run_queued, targets_for
    from app.commands._common import run_progress, wide_console

    console = wide_console()
    started = time.monotonic()
    console.print(Panel.fit(f"Baton demo: The Model on Salesforce and HubSpot sandboxes\n"
                            f"{records} leads per CRM, seed {seed}, {workers} RQ workers"))
    env = environment.start(directory.resolve(), records=records, seed=seed, workers=workers)
    try:
        ctx = PipelineContext(env.config, env.redis)
        targets = targets_for(ctx)
        console.print(f"Sandboxes: Salesforce {env.sandboxes.info['salesforce']['instance_url']} (TLS), "
                      f"HubSpot {env.sandboxes.info['hubspot']['host']}; Redis {_redis_label(env.redis)}; "
                      f"store {directory / 'baton.db'}")
        with run_progress("1. full sync") as progress:
            first = run_queued(ctx, targets, full=True, progress=progress, timeout_s=300)
        console.print(counts_table("Full sync", first))
        console.print(transitions_table("Stage transitions written by the full sync",
                                        ctx.store.run_decisions(first.run_id)))
        edits = reps.plan_edits(ctx.store, first.run_id)
        reps.apply_edits(edits, env.sandboxes.info)
        console.print(_edits_table(edits))
        with run_progress("2. incremental sync") as progress:
            second = run_queued(ctx, targets, full=False, progress=progress, timeout_s=300)
        console.print(counts_table("Incremental sync", second))
        console.print(transitions_table("Stage transitions decided by the incremental sync",
                                        ctx.store.run_decisions(second.run_id)))
        console.print(held_back_table(ctx.store, second.run_id))
        failures = [note for s in (first, second) for note in s.notes]
        console.print(api_table("API calls, full sync (used next to the minimum)", first))
        console.print(api_table("API calls, incremental sync", second))
        if webhooks:
            from app.demo.webhooks_phase import run_webhook_phase
            console.print(Panel.fit("3. Webhooks: reps edit records; the CRMs call Baton; Baton writes back"))
            live = run_webhook_phase(env, ctx, console)
            if live["written"] < live["edits"]:
                failures.append(f"{live['edits'] - live['written']} webhook-driven change(s) not written in time")
        unfinished = [s for s in (first, second) if not s.finished]
        for note in failures:
            console.print(f"[red]problem:[/] {note} (see `baton status` and {directory / 'workers.log'})")
        console.print(f"\nElapsed: {time.monotonic() - started:.1f} s. Audit trail in {directory / 'baton.db'}; "
                      f"worker log in {directory / 'workers.log'}.")
        ctx.close()
    finally:
        env.stop()
    if unfinished:
        raise SystemExit("a run did not finish; see the worker log")
    if failures:
        raise SystemExit(f"{len(failures)} problem(s) above; see the worker log")


def _edits_table(edits: list) -> Table:
    table = Table(title="Meanwhile, in the CRMs: what sales reps changed", title_justify="left")
    for column in ("CRM", "object", "record", "change", "what happened"):
        table.add_column(column)
    for edit in edits:
        table.add_row(edit.crm, edit.object, edit.record_id, ", ".join(f"{k}={v}" for k, v in edit.fields.items()),
                      edit.why)
    return table


def _redis_label(connection: object) -> str:
    from app.queueing import connection_url, redact_url
    return redact_url(connection_url(connection))  # type: ignore[arg-type]
