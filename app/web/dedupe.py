"""Remember webhook deliveries already handled, across retries and processes (Redis SET NX EX).

A CRM re-sends a delivery it thinks failed, and an attacker can replay a captured one inside the
signature window: both must change nothing. Each event gets a key; the first request to ``SET NX``
it owns the event, later ones see a duplicate. If the work cannot be queued, the claims are released
so the CRM's retry is processed rather than swallowed.
"""
from __future__ import annotations

from collections.abc import Sequence

from redis import Redis

DEFAULT_TTL_SECONDS = 2 * 24 * 3600  # HubSpot and Salesforce both give up retrying within 24 h


class EventDeduper:
    """Claims event keys in Redis under ``prefix``; one instance per application."""

    def __init__(self, redis: Redis, prefix: str = "baton:webhook:seen",
                 ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds

    def claim(self, keys: Sequence[str]) -> list[bool]:
        """Claim each key; ``True`` where this call is the first to see it.

        One round trip for the whole batch. A key repeated inside ``keys`` is claimed once.
        """
        if not keys:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.set(self._key(key), b"1", nx=True, ex=self._ttl)
        return [bool(result) for result in pipe.execute()]

    def release(self, keys: Sequence[str]) -> None:
        """Forget claims, so a retry of the same delivery is processed again."""
        if keys:
            self._redis.delete(*(self._key(key) for key in keys))

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"
