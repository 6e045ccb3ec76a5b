"""The GCRA rate limiter on real Redis (database 12). Limits are chosen so that one emission interval
is far longer than a burst of calls takes, so counts do not depend on machine speed."""
from __future__ import annotations

import pytest
import redis

from app.queueing import Bucket, LimitProfile, RateLimiter, profile_from_config
from connectors.errors import RateLimited
from tests.worker.conftest import LIMITER_DB_URL

# 5 at once, then one call per second.
SLOW = LimitProfile(buckets=(Bucket.from_window("burst", limit=105, window_s=100, burst=5),))
TWO_BUCKETS = LimitProfile(
    buckets=(Bucket.from_window("burst", limit=105, window_s=100, burst=5),
             Bucket.from_window("search", limit=102, window_s=100, burst=2)),
    kinds={"api": ("burst",), "search": ("search", "burst")},
)


def test_allows_the_burst_then_refuses_with_retry_after(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW)
    outcomes = [limiter.acquire() for _ in range(20)]

    assert [allowed for allowed, _ in outcomes] == [True] * 5 + [False] * 15
    assert all(0 < wait <= 1.0 for _, wait in outcomes[5:])


def test_accounts_are_independent(limiter_conn: redis.Redis) -> None:
    first = RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW)
    second = RateLimiter(limiter_conn, "hubspot", "portal-2", SLOW)
    same_account_other_crm = RateLimiter(limiter_conn, "salesforce", "portal-1", SLOW)
    for _ in range(5):
        assert first.acquire()[0]

    assert not first.acquire()[0]
    assert second.acquire()[0]
    assert same_account_other_crm.acquire()[0]


def test_state_is_shared_between_connections(limiter_conn: redis.Redis) -> None:
    """Two workers (two clients) drawing on one account share its budget."""
    other_client = redis.Redis.from_url(LIMITER_DB_URL)
    workers = [RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW),
               RateLimiter(other_client, "hubspot", "portal-1", SLOW)]
    allowed = sum(workers[i % 2].acquire()[0] for i in range(12))
    assert allowed == 5


def test_kind_draws_on_all_its_buckets_atomically(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", TWO_BUCKETS)
    assert [limiter.acquire(kind="search")[0] for _ in range(3)] == [True, True, False]
    # The refused search took nothing: the shared bucket still has 5 - 2 = 3 calls.
    assert [limiter.acquire(kind="api")[0] for _ in range(4)] == [True, True, True, False]


def test_cost_larger_than_any_burst_is_an_error(limiter_conn: redis.Redis) -> None:
    with pytest.raises(ValueError, match="can never fit"):
        RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW).acquire(cost=6)


def test_penalise_blocks_until_retry_after(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW)
    limiter.penalise(30)
    allowed, wait = limiter.acquire()

    assert not allowed and 29 < wait <= 30
    limiter.penalise(5)  # a shorter Retry-After never shortens a block
    assert limiter.acquire()[1] > 29
    assert RateLimiter(limiter_conn, "hubspot", "portal-2", SLOW).acquire()[0]
    assert limiter.budget()[0].blocked_for_s > 29


def test_observe_tightens_when_the_crm_says_budget_is_low(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW)
    limiter.observe(remaining=50, limit=100, window_s=10)  # healthy: nothing changes
    assert limiter.budget()[0].tightened is False

    limiter.observe(remaining=2, limit=100, window_s=10)  # 2 left for 10 s: one call per 5 s
    budget = limiter.budget()[0]
    assert budget.tightened and budget.per_second == pytest.approx(0.2)
    assert [limiter.acquire()[0] for _ in range(3)] == [True, False, False]
    assert limiter.acquire()[1] > 4


def test_observe_zero_remaining_blocks_for_the_window(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", SLOW)
    limiter.observe(remaining=0, limit=190, window_s=10)
    allowed, wait = limiter.acquire()
    assert not allowed and 9 < wait <= 10


def test_wait_and_acquire_sleeps_short_waits_and_raises_for_long_ones(limiter_conn: redis.Redis) -> None:
    fast = LimitProfile(buckets=(Bucket.from_rate("burst", requests=20, period_s=1, burst=1),))  # 1 per 50 ms
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1", fast)
    assert limiter.wait_and_acquire() == 0
    assert limiter.wait_and_acquire(max_wait_s=1.0) > 0

    limiter.penalise(10)
    with pytest.raises(RateLimited) as raised:
        limiter.wait_and_acquire(max_wait_s=1.0)
    assert raised.value.retry_after is not None and 9 < raised.value.retry_after <= 10
    assert raised.value.crm == "hubspot"


def test_budget_readout(limiter_conn: redis.Redis) -> None:
    limiter = RateLimiter(limiter_conn, "hubspot", "portal-1")  # the published HubSpot profile
    for _ in range(10):
        limiter.acquire()
    burst = {b.bucket: b for b in limiter.budget()}["burst"]
    assert burst.account == "hubspot:portal-1" and burst.capacity == 19
    assert 9 <= burst.available <= 10
    assert burst.per_second == pytest.approx(171 / 10)


def test_published_limits_are_never_exceeded_in_a_window() -> None:
    """burst + steady rate over one window equals the published limit."""
    bucket = Bucket.from_window("burst", limit=190, window_s=10, burst=19)
    assert bucket.burst + 10 / bucket.interval_s == pytest.approx(190)
    with pytest.raises(ValueError, match="limit > burst"):
        Bucket.from_window("bad", limit=5, window_s=1, burst=5)


def test_profile_from_the_config_file_defaults(limiter_conn: redis.Redis) -> None:
    from app.config_schema import HubSpotLimits, SalesforceLimits

    hubspot = profile_from_config("hubspot", HubSpotLimits())
    assert {b.name for b in hubspot.for_kind("search")} == {"search", "daily"}
    assert hubspot.bucket("rate").interval_s == pytest.approx(0.1)  # 100 per 10 s
    ten_second = hubspot.bucket("ten_second")
    assert ten_second.burst + 10 / ten_second.interval_s == pytest.approx(100)
    salesforce = profile_from_config("salesforce", SalesforceLimits())
    assert {b.name for b in salesforce.for_kind("api")} == {"rate", "daily"}
    limiter = RateLimiter(limiter_conn, "salesforce", "00D000000000001", salesforce)
    assert sum(limiter.acquire()[0] for _ in range(30)) == 20  # the configured burst of 20
