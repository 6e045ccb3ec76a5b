"""API-call accounting per operation, so callers can compare the calls used with the minimum.

Every connector owns one :class:`CallLedger`. Each CRM call is recorded under an operation name
(``read``, ``write``, ``verify``, ``delete_scan``, ...) with the number of records it carried and the
most that one call of that kind may carry (2,000 per Salesforce query page, 200 per Collections call,
100 per HubSpot batch call, 200 per HubSpot search page). The minimum is then
``ceil(records / max_per_call)`` per operation.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field


@dataclass(slots=True)
class OperationCount:
    calls: int = 0
    records: int = 0
    max_per_call: int = 1
    retries: int = 0

    @property
    def minimum(self) -> int:
        return math.ceil(self.records / self.max_per_call) if self.records else 0


@dataclass
class CallLedger:
    """Thread-safe counters of CRM calls, keyed by operation name."""

    operations: dict[str, OperationCount] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, operation: str, *, records: int = 0, max_per_call: int = 1, retry: bool = False) -> None:
        with self._lock:
            count = self.operations.setdefault(operation, OperationCount(max_per_call=max_per_call))
            count.calls += 1
            count.records += records
            count.max_per_call = max(count.max_per_call, max_per_call)
            if retry:
                count.retries += 1

    @property
    def total_calls(self) -> int:
        return sum(c.calls for c in self.operations.values())

    @property
    def total_minimum(self) -> int:
        return sum(c.minimum for c in self.operations.values())

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A JSON-serialisable copy: {operation: {calls, records, minimum, retries}}."""
        with self._lock:
            return {name: {"calls": c.calls, "records": c.records, "minimum": c.minimum,
                           "max_per_call": c.max_per_call, "retries": c.retries}
                    for name, c in sorted(self.operations.items())}

    def reset(self) -> None:
        with self._lock:
            self.operations.clear()
