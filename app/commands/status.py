"""``baton status``: queues, failed jobs, last syncs and the rate-limit budget."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from app.commands._common import connect_or_exit, load_or_exit


@click.command("status")
@click.option("--config", "--file", "config_path", metavar="FILE", help="Configuration file (default: $BATON_CONFIG or ./baton.yaml).")
def status(config_path: str | None) -> None:
    """Show the queues, failed jobs, last syncs and rate-limit budget."""
    from app.pipeline.context import PipelineContext
    from app.queueing.status import queue_overview

    config = load_or_exit(config_path)
    ctx = PipelineContext(config, connect_or_exit(config))
    console = Console()
    queues = Table(title="Queues", title_justify="left")
    for column in ("queue", "queued", "started", "scheduled", "failed", "finished", "workers"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    failures = Table(title="Recent failed jobs", title_justify="left")
    failures.add_column("job")
    failures.add_column("reason")
    for figures in queue_overview(ctx.redis):
        queues.add_row(figures.queue, *(str(getattr(figures, c)) for c in
                                         ("queued", "started", "scheduled", "failed", "finished", "workers")))
        for job_id, reason in figures.recent_failures:
            failures.add_row(job_id, reason)
    console.print(queues)
    if failures.row_count:
        console.print(failures)
    syncs = Table(title="Last syncs", title_justify="left")
    for column in ("CRM", "object", "watermark (modified, id)"):
        syncs.add_column(column)
    for (crm, object_name), mark in sorted(ctx.store.watermarks().items()):
        syncs.add_row(crm, object_name, f"{mark.modified_at:%Y-%m-%d %H:%M:%S} UTC, {mark.last_id}")
    console.print(syncs)
    budget = Table(title="Rate-limit budget", title_justify="left")
    for column in ("account", "bucket", "available", "capacity", "per second", "blocked for (s)", "tightened"):
        budget.add_column(column)
    for crm in ctx.enabled_crms():
        for row in ctx.limiter(crm).budget():
            budget.add_row(row.account, row.bucket, str(row.available), str(row.capacity), f"{row.per_second:.2f}",
                           f"{row.blocked_for_s:.1f}", "yes" if row.tightened else "no")
    console.print(budget)
