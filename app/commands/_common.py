"""Helpers shared by the commands that run the pipeline."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import ConfigError, load_config
from app.config_schema import BatonConfig
from app.queueing import RedisUnavailable, redis_connection


def load_or_exit(path: str | None) -> BatonConfig:
    """The configuration, or a clear error and exit status 2 (never a traceback)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None
    except FileNotFoundError as exc:
        click.echo(f"Error: configuration file not found: {exc.filename}. Create one from baton.example.yaml "
                   "or pass --config.", err=True)
        raise SystemExit(2) from None


def connect_or_exit(config: BatonConfig) -> Any:
    url = config.redis_url.get_secret_value() if config.redis_url else None
    try:
        return redis_connection(url, embedded_fallback=url is None)
    except RedisUnavailable as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


def wide_console() -> Console:
    """A console at least 120 columns wide, so tables stay readable in CI logs and narrow terminals."""
    return Console(width=max(Console().width, 120))


@contextmanager
def run_progress(label: str) -> Iterator[Any]:
    """A rich progress display whose callback takes the run's counters."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False, console=wide_console()) as progress:
        tasks = {name: progress.add_task(f"{label}: {name}", total=None)
                 for name in ("read", "evaluated", "written")}

        def update(counts: dict[str, Any]) -> None:
            read = counts.get("read", 0)
            progress.update(tasks["read"], completed=read, total=max(read, 1))
            decided = counts.get("evaluated", 0) + counts.get("not_decided", 0)
            progress.update(tasks["evaluated"], completed=decided, total=max(counts.get("changed", 0), decided, 1))
            done = counts.get("written", 0) + counts.get("failed", 0) + counts.get("conflict", 0)
            progress.update(tasks["written"], completed=done, total=max(counts.get("planned", 0), done, 1))
        yield update
