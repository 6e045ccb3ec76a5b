"""HubSpot's natural rate limits and the ``X-HubSpot-RateLimit-*`` headers.

Three buckets: a rolling 10-second limit shared by all calls (``TEN_SECONDLY_ROLLING``), a separate
per-second limit for search (``SECONDLY``), and a daily count. Limits are adjustable at run time
(``PUT /_sandbox/limits``) so scale tests can lift them; the headers always report the state.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Limits:
    interval_max: int = 190            # calls per 10 s (a Professional portal's private-app limit)
    interval_ms: int = 10_000
    secondly: int = 19                 # the per-second figure HubSpot reports next to the 10-s one
    search_per_second: int = 5
    daily: int = 1_000_000

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Limits | None = None) -> Limits:
        """Limits from JSON; fields left out keep their ``base`` (default: HubSpot's) values."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{**asdict(base or cls()), **data})


@dataclass(frozen=True)
class LimitVerdict:
    allowed: bool
    policy: str = ""                   # TEN_SECONDLY_ROLLING | SECONDLY | DAILY
    headers: dict[str, str] | None = None


class RateLimiter:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._daily = 0

    def set_limits(self, limits: Limits) -> None:
        """New limits, with the windows emptied (a fresh start for tests)."""
        with self._lock:
            self.limits = limits
            self._calls.clear()
            self._searches.clear()

    def admit(self, is_search: bool) -> LimitVerdict:
        """Count one call, or refuse it with the policy it broke."""
        now = time.monotonic()
        with self._lock:
            limits = self.limits
            _trim(self._calls, now - limits.interval_ms / 1000)
            _trim(self._searches, now - 1.0)
            policy = ""
            if self._daily >= limits.daily:
                policy = "DAILY"
            elif len(self._calls) >= limits.interval_max:
                policy = "TEN_SECONDLY_ROLLING"
            elif is_search and len(self._searches) >= limits.search_per_second:
                policy = "SECONDLY"
            if not policy:
                self._calls.append(now)
                self._daily += 1
                if is_search:
                    self._searches.append(now)
            return LimitVerdict(not policy, policy, self._headers(now))

    def _headers(self, now: float) -> dict[str, str]:
        limits = self.limits
        recent = sum(1 for t in self._calls if t > now - 1.0)
        return {
            "X-HubSpot-RateLimit-Daily": str(limits.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, limits.daily - self._daily)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(limits.interval_ms),
            "X-HubSpot-RateLimit-Max": str(limits.interval_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limits.interval_max - len(self._calls))),
            "X-HubSpot-RateLimit-Secondly": str(limits.secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, limits.secondly - recent)),
        }

    def headers(self) -> dict[str, str]:
        with self._lock:
            return self._headers(time.monotonic())


def _trim(window: deque[float], oldest: float) -> None:
    while window and window[0] <= oldest:
        window.popleft()


POLICY_MESSAGES = {"TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
                   "SECONDLY": "You have reached your secondly limit.",
                   "DAILY": "You have reached your daily limit."}
