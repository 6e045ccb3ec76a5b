"""A Redis leader lock with a TTL and renewal: at most one holder at a time, taken over when it dies."""
from __future__ import annotations

import uuid

import redis
from rq.utils import as_text

_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1
end
return 0
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaderLock:
    """Leader election over one key: ``SET key token NX PX ttl``, renewed by the holder.

    A holder that stops renewing (crash, kill, network split) loses the lock after ``ttl_s``; its
    successor may overlap with it only if the old holder keeps running without reaching Redis,
    which is why the scheduler also de-duplicates every enqueue per period.
    """

    def __init__(self, connection: redis.Redis, key: str, ttl_s: float, identity: str | None = None) -> None:
        self._connection = connection
        self.key = key
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self.identity = identity or uuid.uuid4().hex
        self._renew = connection.register_script(_RENEW_LUA)
        self._release = connection.register_script(_RELEASE_LUA)

    def acquire_or_renew(self) -> bool:
        """True if this process is the leader after the call."""
        if int(self._renew(keys=[self.key], args=[self.identity, self._ttl_ms])):
            return True
        return bool(self._connection.set(self.key, self.identity, nx=True, px=self._ttl_ms))

    def release(self) -> None:
        """Give the lock up now (on clean shutdown) so a successor need not wait for the TTL."""
        self._release(keys=[self.key], args=[self.identity])

    def holder(self) -> str | None:
        """The identity of the current leader, if any."""
        value = self._connection.get(self.key)
        return as_text(value) if value else None
