"""The simulated venues' side of rate limiting: token buckets that answer "not now".

A client's buckets (``actors.runtime.orders.rate_limit``) make it wait; a venue's refuse
instead, with HTTP 429 and how long until a request would pass. A request may count against several
buckets (its endpoint's and a shared class such as MEXC's orders); it passes only if
every one of them has a token, and then takes one from each, so a refused request
costs nothing. Time is trio's clock, passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from actors.sim.config import RateLimit


@attrs.define
class ServerTokenBucket:
    """Holds up to ``limit.requests`` tokens, refilled at ``requests / per_s`` a second."""

    limit: RateLimit
    _tokens: float = attrs.field(init=False)
    _updated: float | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._tokens = float(self.limit.requests)

    def wait_s(self, now: float) -> float:
        """Seconds until a token is here (0 when one is)."""
        self._refill(now)
        return max(0.0, (1.0 - self._tokens) * self.limit.per_s / self.limit.requests)

    def remaining(self, now: float) -> int:
        """Whole requests it would take now."""
        self._refill(now)
        return max(0, int(self._tokens))

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1.0

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            rate = self.limit.requests / self.limit.per_s
            self._tokens = min(self.limit.requests, self._tokens + (now - self._updated) * rate)
        self._updated = now


@attrs.define
class VenueRateLimiter:
    """One bucket per key (an endpoint, or a class of endpoints), made on first use."""

    _buckets: dict[str, ServerTokenBucket] = attrs.field(factory=dict, init=False)
    refused: int = attrs.field(default=0, init=False)
    """How many requests were refused so far."""

    def admit(self, limits: Sequence[tuple[str, RateLimit]], now: float) -> float | None:
        """Take a token from the bucket of each ``(key, limit)`` and return ``None``, or
        take nothing and return the seconds until all of them would have one."""
        buckets = [self._bucket(key, limit) for key, limit in limits]
        wait = max((bucket.wait_s(now) for bucket in buckets), default=0.0)
        if wait > 0.0:
            self.refused += 1
            return wait
        for bucket in buckets:
            bucket.take(now)
        return None

    def headroom(self, limits: Sequence[tuple[str, RateLimit]], now: float) -> tuple[int, int]:
        """What the tightest of the buckets of ``limits`` allows, as venues tell it in
        their rate limit headers: ``(requests per window, requests it would take now)``."""
        buckets = [self._bucket(key, limit) for key, limit in limits]
        tightest = min(buckets, key=lambda bucket: bucket.remaining(now))
        return tightest.limit.requests, tightest.remaining(now)

    def _bucket(self, key: str, limit: RateLimit) -> ServerTokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = ServerTokenBucket(limit)
        return bucket
