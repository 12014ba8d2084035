"""Token buckets that keep a router under a venue's rate limits.

Each endpoint class (orders, queries, ...) has its own bucket set below the venue's
published limit. Callers reserve before they send: the reservation is taken at once and
the caller sleeps until it is covered, so concurrent callers queue fairly in arrival order
without a lock. A venue's ``Retry-After`` (or a 429 without one) closes the bucket for
that long. Time is trio's clock, so tests run on a MockClock.
"""

from __future__ import annotations

import attrs
import trio


@attrs.define
class TokenBucket:
    rate_per_s: float = attrs.field(validator=attrs.validators.gt(0.0))
    burst: float = attrs.field(validator=attrs.validators.ge(1.0))
    _tokens: float = attrs.field(init=False)
    _updated: float | None = attrs.field(init=False, default=None)
    _closed_until: float = attrs.field(init=False, default=0.0)
    waits: int = attrs.field(init=False, default=0)
    """How many acquisitions had to wait."""
    waited_s: float = attrs.field(init=False, default=0.0)

    def __attrs_post_init__(self) -> None:
        self._tokens = self.burst

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    def ready(self, cost: float = 1.0) -> bool:
        """Whether :meth:`acquire` would take ``cost`` tokens now, without waiting."""
        now = trio.current_time()
        self._refill(now)
        return self._tokens >= cost and self._closed_until <= now

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait until ``cost`` tokens are ours. If cancelled while waiting, the reservation
        is given back."""
        now = trio.current_time()
        self._refill(now)
        self._tokens -= cost
        wait = max(-self._tokens / self.rate_per_s, self._closed_until - now, 0.0)
        if wait <= 0.0:
            return
        self.waits += 1
        self.waited_s += wait
        try:
            await trio.sleep(wait)
        except trio.Cancelled:
            self._refill(trio.current_time())
            self._tokens = min(self.burst, self._tokens + cost)
            raise

    def close_for(self, seconds: float) -> None:
        """The venue said to wait ``seconds``: nothing passes before then."""
        self._closed_until = max(self._closed_until, trio.current_time() + seconds)
        self._tokens = min(self._tokens, 0.0)

    @property
    def available(self) -> float:
        """Tokens available now (negative while callers are queued)."""
        self._refill(trio.current_time())
        return self._tokens
