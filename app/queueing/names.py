"""Queue names and Redis key prefixes used by Baton's job infrastructure, in one place."""
from __future__ import annotations

SYNC_QUEUE = "baton:sync"
"""Reads from the CRMs (incremental syncs and backfills)."""

EVALUATE_QUEUE = "baton:evaluate"
"""Rule evaluation of records already read."""

WRITEBACK_QUEUE = "baton:writeback"
"""Batched writes to the CRMs."""

QUEUE_PRIORITY: tuple[str, ...] = (WRITEBACK_QUEUE, EVALUATE_QUEUE, SYNC_QUEUE)
"""Dequeue order of a worker listening on every queue. Work that is furthest down the pipeline goes
first, so in-flight records reach the CRM before new reads pile up (bounded memory and latency)."""

QUEUE_ALIASES: dict[str, str] = {"sync": SYNC_QUEUE, "evaluate": EVALUATE_QUEUE, "writeback": WRITEBACK_QUEUE}
"""Short names accepted on the command line (``--queues sync,writeback``)."""

KEY_PREFIX = "baton"
"""Prefix of every Redis key Baton itself writes (rq keeps its own ``rq:`` prefix)."""

ENQUEUE_LOCK_KEY = f"{KEY_PREFIX}:enqueue-lock:{{job_id}}"
SCHEDULER_LEADER_KEY = f"{KEY_PREFIX}:scheduler:leader"
SCHEDULER_FIRED_KEY = f"{KEY_PREFIX}:scheduler:fired:{{name}}:{{period}}"
RATE_LIMIT_KEY = f"{KEY_PREFIX}:rl:{{account}}:{{bucket}}"
