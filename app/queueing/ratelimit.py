"""A rate limiter in Redis shared by every worker: GCRA per CRM account, in Lua.

Each CRM account (``{crm}:{account id}``) has named buckets built from the CRM's published limits
(HubSpot: 190 calls per 10 s, search 5 per second, a daily quota; Salesforce: the org's daily API
requests spread over the day plus a per-second cap). A call of a given *kind* (``"api"``,
``"search"``) must fit every bucket of that kind; the check-and-take is one Lua script, so it is
atomic across workers, and time comes from Redis ``TIME`` so worker clocks do not matter.

Buckets come from a token-bucket setting (``requests`` per ``period``, ``burst`` at once:
:meth:`Bucket.from_rate`) or from a published window limit that must hold in every window
(:meth:`Bucket.from_window`: steady rate ``(limit - burst) / window`` so burst plus rate never exceed it).
:func:`profile_from_config` builds an account's profile from the ``limits`` section of ``baton.yaml``.

At run time the CRM's own signals adjust it: :meth:`RateLimiter.observe` (rate-limit headers: remaining
of limit in window) tightens a bucket to spread what is left when the budget runs low, and
:meth:`RateLimiter.penalise` (HTTP 429 ``Retry-After``) blocks the buckets until then.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis

from app.queueing.names import RATE_LIMIT_KEY
from connectors.errors import RateLimited

_ACQUIRE_LUA = """
-- KEYS: per bucket i, (tat, block, tight). ARGV: cost, n, then per bucket (interval, capacity).
local cost, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait, new_tats = 0, {}
for i = 1, n do
  local interval, capacity = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local tight = redis.call('HMGET', KEYS[3 * i], 'interval', 'capacity')
  if tight[1] then
    interval = math.max(interval, tonumber(tight[1]))
    capacity = math.max(math.min(capacity, tonumber(tight[2])), cost)
  end
  local blocked = tonumber(redis.call('GET', KEYS[3 * i - 1]) or 0)
  if blocked > now then wait = math.max(wait, blocked - now) end
  local tat = tonumber(redis.call('GET', KEYS[3 * i - 2]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  local allow_at = new_tat - interval * capacity
  if allow_at > now then wait = math.max(wait, allow_at - now) end
  new_tats[i] = new_tat
end
if wait > 0 then return {0, tostring(wait)} end
for i = 1, n do
  redis.call('SET', KEYS[3 * i - 2], tostring(new_tats[i]), 'PX', math.ceil((new_tats[i] - now) * 1000) + 1)
end
return {1, '0'}
"""

_BLOCK_LUA = """
-- KEYS: block keys. ARGV[1]: seconds. Extends a block, never shortens one.
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1]); local until_ts = now + seconds
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or 0)
  if until_ts > current then
    redis.call('SET', KEYS[i], tostring(until_ts), 'PX', math.ceil(seconds * 1000) + 1)
  end
end
return tostring(until_ts)
"""

_BUDGET_LUA = """
-- KEYS: per bucket (tat, block, tight). ARGV: per bucket (interval, capacity).
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {}
for i = 1, #KEYS / 3 do
  local interval, capacity = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tight = redis.call('HMGET', KEYS[3 * i], 'interval', 'capacity')
  local tightened = 0
  if tight[1] then
    interval = math.max(interval, tonumber(tight[1])); capacity = math.min(capacity, tonumber(tight[2]))
    tightened = 1
  end
  local tat = tonumber(redis.call('GET', KEYS[3 * i - 2]) or now)
  if tat < now then tat = now end
  local available = math.floor((capacity * interval - (tat - now)) / interval + 1e-9)
  local blocked = tonumber(redis.call('GET', KEYS[3 * i - 1]) or 0) - now
  if blocked < 0 then blocked = 0 end
  out[i] = {tostring(math.max(available, 0)), tostring(blocked), tostring(interval), tostring(capacity),
            tightened}
end
return out
"""


@dataclass(frozen=True)
class Bucket:
    """One GCRA bucket: a call every ``interval_s`` seconds at the steady rate, ``burst`` back-to-back."""

    name: str
    interval_s: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.interval_s > 0 and self.burst >= 1):
            raise ValueError(f"rate-limit bucket {self.name!r}: need interval_s > 0 and burst >= 1 "
                             f"(got interval_s={self.interval_s}, burst={self.burst})")

    @classmethod
    def from_window(cls, name: str, limit: int, window_s: float, burst: int) -> Bucket:
        """A published "``limit`` calls per ``window_s``" limit that must never be exceeded in any window:
        the steady rate is ``(limit - burst) / window_s`` so burst plus rate stay within ``limit``."""
        if not (limit > 0 and window_s > 0 and 0 < burst < limit):
            raise ValueError(f"rate-limit bucket {name!r}: need limit > burst > 0 and window_s > 0 "
                             f"(got limit={limit}, burst={burst}, window_s={window_s})")
        return cls(name, window_s / (limit - burst), burst)

    @classmethod
    def from_rate(cls, name: str, requests: int, period_s: float, burst: int) -> Bucket:
        """A token bucket: ``requests`` per ``period_s`` steady, at most ``burst`` at once."""
        if not (requests > 0 and period_s > 0):
            raise ValueError(f"rate-limit bucket {name!r}: need requests > 0 and period > 0")
        return cls(name, period_s / requests, burst)


@dataclass(frozen=True)
class LimitProfile:
    """A CRM account's buckets, and which buckets each kind of call draws on."""

    buckets: tuple[Bucket, ...]
    kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {b.name for b in self.buckets}
        for kind, wanted in self.kinds.items():
            unknown = set(wanted) - names
            if unknown:
                raise ValueError(f"call kind {kind!r} uses unknown bucket(s) {sorted(unknown)}")

    def for_kind(self, kind: str) -> list[Bucket]:
        """The buckets a call of ``kind`` draws on (every bucket if the kind is not mapped)."""
        names = self.kinds.get(kind)
        return [b for b in self.buckets if names is None or b.name in names]

    def bucket(self, name: str) -> Bucket:
        for bucket in self.buckets:
            if bucket.name == name:
                return bucket
        raise KeyError(f"no rate-limit bucket {name!r}; have {[b.name for b in self.buckets]}")


HUBSPOT_PROFILE = LimitProfile(
    buckets=(Bucket.from_window("burst", limit=190, window_s=10, burst=19),  # Pro/Enterprise private app
             Bucket.from_window("search", limit=5, window_s=1, burst=1),     # CRM search: 5/s per token
             Bucket.from_window("daily", limit=625_000, window_s=86_400, burst=25_000)),
    kinds={"api": ("burst", "daily"), "search": ("search", "daily")},
)
SALESFORCE_PROFILE = LimitProfile(
    buckets=(Bucket.from_window("daily", limit=100_000, window_s=86_400, burst=5_000),  # DailyApiRequests
             Bucket.from_window("per_second", limit=25, window_s=1, burst=5)),
    kinds={"api": ("daily", "per_second"), "search": ("daily", "per_second")},
)
DEFAULT_PROFILES: dict[str, LimitProfile] = {"hubspot": HUBSPOT_PROFILE, "salesforce": SALESFORCE_PROFILE}


@dataclass(frozen=True)
class BucketBudget:
    """What ``baton status`` shows for one bucket."""

    account: str
    bucket: str
    available: int
    capacity: int
    per_second: float
    blocked_for_s: float
    tightened: bool


class RateLimiter:
    """GCRA limiter of one CRM account, shared by all processes through Redis."""

    def __init__(self, connection: redis.Redis, crm: str, account: str,
                 profile: LimitProfile | None = None, low_fraction: float = 0.1) -> None:
        self.crm = crm
        self.account = f"{crm}:{account}"
        self.profile = profile or DEFAULT_PROFILES[crm]
        self.low_fraction = low_fraction
        self._connection = connection
        self._acquire = connection.register_script(_ACQUIRE_LUA)
        self._block = connection.register_script(_BLOCK_LUA)
        self._budget = connection.register_script(_BUDGET_LUA)

    def acquire(self, cost: int = 1, kind: str = "api") -> tuple[bool, float]:
        """Take ``cost`` calls from every bucket of ``kind`` if all allow it: ``(allowed, wait_s)``.

        When refused nothing is taken and ``wait_s`` is the time until the call would fit.
        """
        buckets = self.profile.for_kind(kind)
        too_big = [b.name for b in buckets if cost > b.burst]
        if cost < 1 or too_big:
            raise ValueError(f"cost {cost} can never fit bucket(s) {too_big} of {self.account}; "
                             "split the call")
        args: list[float] = [cost, len(buckets)]
        for b in buckets:
            args += [b.interval_s, b.burst]
        allowed, wait = self._acquire(keys=self._keys(buckets), args=args)
        return bool(int(allowed)), float(wait)

    def wait_and_acquire(self, cost: int = 1, kind: str = "api", max_wait_s: float = 2.0) -> float:
        """Acquire, sleeping through short waits; returns the seconds slept.

        Raises:
            RateLimited: The wait is longer than ``max_wait_s``: give the worker slot back and let
                the job wrapper re-schedule the job after ``retry_after``.
        """
        slept = 0.0
        while True:
            allowed, wait = self.acquire(cost, kind)
            if allowed:
                return slept
            if slept + wait > max_wait_s:
                raise RateLimited(f"local budget for {self.account} exhausted", crm=self.crm,
                                  operation=kind, retry_after=wait)
            time.sleep(wait)
            slept += wait

    def observe(self, remaining: int, limit: int, window_s: float, bucket: str | None = None) -> None:
        """Adjust to the CRM's rate-limit headers (``remaining`` of ``limit`` calls left in ``window_s``).

        Below ``low_fraction`` of the limit the bucket is tightened until the window ends, so the
        calls left are spread over the rest of it; at zero the bucket is blocked for the window.
        """
        name = bucket or self.profile.buckets[0].name
        self.profile.bucket(name)  # validate the name
        if limit <= 0 or window_s <= 0 or remaining >= limit * self.low_fraction:
            return
        if remaining <= 0:
            self._block(keys=[self._key(name, "block")], args=[window_s])
            return
        tight_key = self._key(name, "tight")
        with self._connection.pipeline() as pipe:
            pipe.hset(tight_key, mapping={"interval": window_s / remaining, "capacity": 1})
            pipe.pexpire(tight_key, math.ceil(window_s * 1000))
            pipe.execute()

    def penalise(self, retry_after_s: float, kind: str | None = None) -> None:
        """Block the buckets of ``kind`` (all if None) for ``retry_after_s`` (a 429's Retry-After)."""
        if retry_after_s <= 0:
            return
        buckets = self.profile.for_kind(kind) if kind else list(self.profile.buckets)
        self._block(keys=[self._key(b.name, "block") for b in buckets], args=[retry_after_s])

    def budget(self) -> list[BucketBudget]:
        """The budget left in each bucket right now (for ``baton status``)."""
        buckets = list(self.profile.buckets)
        args: list[float] = []
        for b in buckets:
            args += [b.interval_s, b.burst]
        rows = self._budget(keys=self._keys(buckets), args=args)
        return [BucketBudget(self.account, b.name, int(float(available)), int(float(capacity)),
                             1 / float(interval), round(float(blocked), 3), bool(int(tightened)))
                for b, (available, blocked, interval, capacity, tightened) in zip(buckets, rows, strict=True)]

    def reset(self) -> None:
        """Forget all state of this account (tests, or after changing plan limits)."""
        keys = [self._key(b.name, part) for b in self.profile.buckets for part in ("tat", "block", "tight")]
        self._connection.delete(*keys)

    def _keys(self, buckets: Sequence[Bucket]) -> list[str]:
        return [self._key(b.name, part) for b in buckets for part in ("tat", "block", "tight")]

    def _key(self, bucket: str, part: str) -> str:
        return f"{RATE_LIMIT_KEY.format(account=self.account, bucket=bucket)}:{part}"


def profile_from_config(crm: str, limits: Any) -> LimitProfile:
    """The profile of a CRM account from its ``limits`` config section (``app/config_schema.py``:
    ``SalesforceLimits`` / ``HubSpotLimits``; read by attribute, so this module stays config-free)."""
    rate = limits.rate
    buckets = [Bucket.from_rate("rate", rate.requests, _seconds(rate.period), rate.burst or rate.requests)]
    if crm == "salesforce":
        daily = int(limits.daily_api_requests)
        buckets.append(Bucket.from_window("daily", daily, 86_400, burst=max(1, daily // 20)))
        return LimitProfile(tuple(buckets), kinds={"api": ("rate", "daily"), "search": ("rate", "daily")})
    if crm == "hubspot":
        ten_second, daily, search = int(limits.ten_second_requests), int(limits.daily_requests), limits.search
        buckets += [Bucket.from_window("ten_second", ten_second, 10, burst=max(1, ten_second // 10)),
                    Bucket.from_window("daily", daily, 86_400, burst=max(1, daily // 20)),
                    Bucket.from_rate("search", search.requests, _seconds(search.period),
                                     search.burst or search.requests)]
        return LimitProfile(tuple(buckets), kinds={"api": ("rate", "ten_second", "daily"),
                                                   "search": ("search", "daily")})
    raise ValueError(f"no rate-limit profile for CRM {crm!r}")


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
