"""The venues' token buckets: a request passes only if every bucket it counts against
has a token, and a refusal says how long until one will."""

from __future__ import annotations

import pytest

from actors.sim import RateLimit
from actors.sim.rate_limits import ServerTokenBucket, VenueRateLimiter

TEN_PER_SECOND = RateLimit(10, 1.0)


def test_a_full_bucket_passes_its_size_at_once_then_refills_evenly():
    bucket = ServerTokenBucket(TEN_PER_SECOND)
    for _ in range(10):
        assert bucket.wait_s(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.wait_s(0.0) == pytest.approx(0.1)
    assert bucket.wait_s(0.05) == pytest.approx(0.05)
    assert bucket.wait_s(0.1) == 0.0
    assert bucket.wait_s(100.0) == 0.0  # never more than its size
    for _ in range(10):
        bucket.take(100.0)
    assert bucket.wait_s(100.0) > 0.0


def test_a_request_takes_from_every_bucket_or_from_none():
    limiter = VenueRateLimiter()
    orders = ("orders", RateLimit(2, 10.0))
    endpoint = ("POST order", RateLimit(100, 10.0))
    assert limiter.admit([endpoint, orders], 0.0) is None
    assert limiter.admit([endpoint, orders], 0.0) is None
    assert limiter.admit([endpoint, orders], 0.0) == pytest.approx(5.0)
    assert limiter.admit([endpoint], 0.0) is None  # the refusal took nothing from it
    assert limiter.admit([("GET order", RateLimit(1, 1.0))], 0.0) is None
    assert limiter.refused == 1


def test_a_limit_must_allow_something():
    with pytest.raises(ValueError, match="need >= 1"):
        RateLimit(0, 1.0)
    with pytest.raises(ValueError, match="need >= 1"):
        RateLimit(1, 0.0)
