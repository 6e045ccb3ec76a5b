"""Progress of one sync run, shared by every job of the run through Redis.

A run fans out: one sync job per object enqueues evaluation jobs per page, which enqueue write-back
jobs per batch. Each job adds its counts (records read, decisions by rule, writes done ...) and its
API calls to the run's hashes, and the run is finished when its count of outstanding jobs is zero.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

RUN_KEY = "baton:run:{run_id}:{part}"
RUN_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class RunTracker:
    redis: redis.Redis
    run_id: str

    def _key(self, part: str) -> str:
        return RUN_KEY.format(run_id=self.run_id, part=part)

    def add(self, counts: Mapping[str, int], part: str = "counts") -> None:
        """Add to the run's counters (``part``: "counts", "rules", "calls", "minimum")."""
        if not counts:
            return
        key = self._key(part)
        with self.redis.pipeline() as pipe:
            for name, value in counts.items():
                if value:
                    pipe.hincrby(key, name, int(value))
            pipe.expire(key, RUN_TTL_S)
            pipe.execute()

    def add_ledger(self, crm: str, object_name: str, ledger_snapshot: Mapping[str, Mapping[str, int]]) -> None:
        """Add a connector ledger's calls and records per ``crm:object:operation``.

        Per object, because one object's records can never share another object's call: the
        minimum is ``ceil(records / max_per_call)`` of each object and operation, summed.
        """
        prefix = f"{crm}:{object_name}"
        self.add({f"{prefix}:{op}": c["calls"] for op, c in ledger_snapshot.items()}, "calls")
        self.add({f"{prefix}:{op}": c["records"] for op, c in ledger_snapshot.items()}, "records")
        if ledger_snapshot:
            self.redis.hset(self._key("max_per_call"),
                            mapping={f"{prefix}:{op}": c["max_per_call"] for op, c in ledger_snapshot.items()})

    def job_started(self, count: int = 1) -> None:
        self.redis.incrby(self._key("outstanding"), count)
        self.redis.expire(self._key("outstanding"), RUN_TTL_S)

    def job_finished(self) -> int:
        return int(self.redis.decr(self._key("outstanding")))

    def outstanding(self) -> int:
        return int(self.redis.get(self._key("outstanding")) or 0)

    def note(self, message: str) -> None:
        """Keep a short message about the run (e.g. a job that failed for good)."""
        self.redis.rpush(self._key("notes"), message)
        self.redis.expire(self._key("notes"), RUN_TTL_S)

    def read(self) -> dict[str, Any]:
        """Everything known about the run: {"counts", "rules", "calls", "records", "max_per_call", "notes"}."""
        def ints(part: str) -> dict[str, int]:
            return {k.decode(): int(v) for k, v in self.redis.hgetall(self._key(part)).items()}
        return {"counts": ints("counts"), "rules": ints("rules"), "calls": ints("calls"),
                "records": ints("records"), "max_per_call": ints("max_per_call"),
                "outstanding": self.outstanding(),
                "notes": [n.decode() for n in self.redis.lrange(self._key("notes"), 0, -1)]}

    def api_calls(self) -> dict[str, dict[str, int]]:
        """Calls used next to the minimum, per ``crm:object:operation``."""
        state = self.read()
        result: dict[str, dict[str, int]] = {}
        for name, calls in sorted(state["calls"].items()):
            records = state["records"].get(name, 0)
            per_call = max(1, state["max_per_call"].get(name, 1))
            # An operation done at all needs one call even when it finds nothing (a deleted-records
            # scan, a login, an empty incremental read): the CRM can only say "nothing" when asked.
            result[name] = {"calls": calls, "records": records, "minimum": max(1, -(-records // per_call))}
        return result

    def to_json(self) -> str:
        return json.dumps(self.read(), sort_keys=True)
