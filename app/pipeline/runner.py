"""Run a sync end to end, in this process or through the RQ workers, and summarise it.

``run_inline`` calls the steps directly (``baton sync`` without workers, dry runs, tests of the
steps); ``run_queued`` enqueues one sync job per object and follows the run's counters in Redis
until every job it fanned out to has finished (``baton sync --queue``, the demo).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.store import RunStatus, SyncMode, new_id
from connectors.errors import RateLimited, RetriableError
from connectors.records import Record

from app.pipeline.context import PipelineContext
from app.pipeline.jobs import EVALUATE_CHUNK, WRITEBACK_JOB_SIZE, enqueue_sync
from app.pipeline.runs import RunTracker
from app.pipeline.steps import StepResult, evaluate_records, sync_pages, write_back

Progress = Callable[[dict[str, Any]], None]
INLINE_ATTEMPTS = 5          # tries of a write-back batch in an in-process run (workers use their retry policy)


@dataclass
class RunSummary:
    run_id: str
    targets: list[tuple[str, str]]
    counts: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)   # "crm:op" -> calls, records, minimum
    elapsed_s: float = 0.0
    finished: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def total_calls(self) -> int:
        return sum(v["calls"] for v in self.api_calls.values())

    @property
    def total_minimum(self) -> int:
        return sum(v["minimum"] for v in self.api_calls.values())


def targets_for(ctx: PipelineContext, crm: str | None = None, object_name: str | None = None) -> list[tuple[str, str]]:
    """(crm, object) pairs to sync; errors name what is configured."""
    crms = [crm] if crm else ctx.enabled_crms()
    result = []
    for name in crms:
        objects = list(ctx.mappings(name))
        if object_name and object_name not in objects:
            raise KeyError(f"{name} has no object {object_name!r}; configured: {', '.join(objects)}")
        result += [(name, o) for o in objects if not object_name or o == object_name]
    return result


def run_inline(ctx: PipelineContext, targets: Sequence[tuple[str, str]], *, full: bool = False,
               dry_run: bool = False, progress: Progress | None = None) -> RunSummary:
    """Sync, evaluate and (unless ``dry_run``) write back, in this process."""
    started, run_id = time.monotonic(), new_id()
    summary = RunSummary(run_id, list(targets))
    tracker = RunTracker(ctx.redis, run_id)
    mode = SyncMode.DRY_RUN if dry_run else (SyncMode.FULL if full else SyncMode.INCREMENTAL)
    for crm, object_name in targets:
        stored_run = ctx.store.start_run(crm, object_name, mode).run_id      # one stored run per object
        read = StepResult()
        try:
            _run_target(ctx, crm, object_name, run_id, full, dry_run, read, summary, progress)
        except Exception as exc:
            ctx.store.finish_run(stored_run, RunStatus.FAILED, counts=dict(read.counts), error=str(exc))
            raise
        finally:
            ledger = ctx.connector(crm).ledger
            tracker.add_ledger(crm, object_name, ledger.snapshot())
            ledger.reset()
        ctx.store.finish_run(stored_run, RunStatus.SUCCEEDED, counts=dict(read.counts),
                             api_calls={k: v for k, v in tracker.api_calls().items()
                                        if k.startswith(f"{crm}:{object_name}:")})
    summary.api_calls = tracker.api_calls()
    summary.elapsed_s = time.monotonic() - started
    return summary


def _run_target(ctx: PipelineContext, crm: str, object_name: str, run_id: str, full: bool, dry_run: bool,
                read: StepResult, summary: RunSummary, progress: Progress | None) -> None:
    """Read one object, deciding and writing in chunks as the pages come."""
    chunk: list[Record] = []
    for page in sync_pages(ctx, crm, object_name, full=full, persist=not dry_run, result=read):
        chunk += page
        if len(chunk) >= EVALUATE_CHUNK:
            _decide_and_write(ctx, crm, object_name, chunk, run_id, dry_run, summary)
            chunk = []
        _emit(progress, crm, object_name, read, summary)
    _decide_and_write(ctx, crm, object_name, chunk, run_id, dry_run, summary)
    _merge(summary, read)
    _emit(progress, crm, object_name, read, summary)


def _decide_and_write(ctx: PipelineContext, crm: str, object_name: str, records: list[Record], run_id: str,
                      dry_run: bool, summary: RunSummary) -> None:
    decided = evaluate_records(ctx, crm, object_name, records, run_id=run_id, dry_run=dry_run)
    _merge(summary, decided)
    if not dry_run and ctx.config.write_back.enabled:
        _write_all(ctx, crm, object_name, decided.decision_ids, summary)


def _write_all(ctx: PipelineContext, crm: str, object_name: str, ids: list[str], summary: RunSummary) -> None:
    for start in range(0, len(ids), WRITEBACK_JOB_SIZE):
        batch = ids[start:start + WRITEBACK_JOB_SIZE]
        _merge(summary, _with_retries(lambda result: write_back(ctx, crm, object_name, batch, result=result),
                                      summary))


def _with_retries(step: Callable[[StepResult], StepResult], summary: RunSummary,
                  attempts: int = INLINE_ATTEMPTS) -> StepResult:
    """Run a step, waiting out rate limits and transient errors as the workers would.

    A retried write-back only handles the decisions still planned, so nothing is written twice.
    """
    result = StepResult()
    for attempt in range(1, attempts + 1):
        try:
            return step(result)
        except RetriableError as exc:
            if attempt == attempts:
                summary.notes.append(f"gave up after {attempts} attempts: {exc}")
                return result
            wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else 2.0 ** attempt
            summary.counts["retried"] += 1
            time.sleep(min(wait, 60.0))
    return result


def _merge(summary: RunSummary, result: StepResult) -> None:
    summary.counts.update(result.counts)
    summary.by_rule.update(result.by_rule)


def _emit(progress: Progress | None, crm: str, object_name: str, read: StepResult, summary: RunSummary) -> None:
    if progress is not None:
        progress({"crm": crm, "object": object_name, "read": read.counts["read"], **summary.counts})


def run_queued(ctx: PipelineContext, targets: Sequence[tuple[str, str]], *, full: bool = False,
               timeout_s: float = 600.0, progress: Progress | None = None, poll_s: float = 0.2) -> RunSummary:
    """Enqueue one sync job per target and wait for the whole run (sync, evaluation, write-back)."""
    started, run_id = time.monotonic(), new_id()
    tracker = RunTracker(ctx.redis, run_id)
    for crm, object_name in targets:
        enqueue_sync(ctx.redis, crm, object_name, run_id=run_id, full=full)
    summary = RunSummary(run_id, list(targets), finished=False)
    while time.monotonic() - started < timeout_s:
        state = tracker.read()
        if progress is not None:
            progress({**state["counts"], "outstanding": state["outstanding"]})
        if state["outstanding"] <= 0:
            summary.finished = True
            break
        time.sleep(poll_s)
    state = tracker.read()
    summary.counts.update(state["counts"])
    summary.by_rule.update(state["rules"])
    summary.notes = state["notes"]
    summary.api_calls = tracker.api_calls()
    summary.elapsed_s = time.monotonic() - started
    return summary
