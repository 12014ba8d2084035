"""Funding of one perpetual: the rate it will settle at and when.

Venues derive the rate from the premium of the perpetual over the index averaged over
the interval, pulled towards an interest rate, and cap it:
``rate = clamp(premium + clamp(interest - premium, ±0.05%), ±cap)`` (the formula Gate.io
and Binance publish). Here the index is the spot mid, so the premium is the price
process's gap, integrated over time. Settlements fall on multiples of the interval since
the Unix epoch (00:00, 08:00, 16:00 UTC for 8 h), as on the venues.
"""

from __future__ import annotations

import math

import attrs
import msgspec

from protocols.model import Symbol
from protocols.venue import FundingRate

# The band within which the interest rate may pull the premium (Gate.io, Binance).
_INTEREST_BAND = 0.0005


class FundingSettlement(msgspec.Struct, frozen=True):
    """Funding due at ``ts``: longs pay ``rate * notional at mark_price`` to shorts (the
    other way round when ``rate`` is negative)."""

    symbol: Symbol
    ts: float
    rate: float
    mark_price: float


def funding_rate(premium: float, interest_rate: float, cap: float) -> float:
    pulled = premium + min(max(interest_rate - premium, -_INTEREST_BAND), _INTEREST_BAND)
    return min(max(pulled, -cap), cap)


@attrs.define
class FundingClock:
    """Averages the premium of one perpetual and settles it every ``interval_s``."""

    symbol: Symbol
    interval_s: float
    interest_rate: float
    cap: float
    next_ts: float
    _last_premium: float
    _premium_integral: float = attrs.field(default=0.0, init=False)
    _integral_s: float = attrs.field(default=0.0, init=False)

    @classmethod
    def start(
        cls,
        symbol: Symbol,
        now: float,
        premium: float,
        interval_s: float,
        interest_rate: float,
        cap: float,
    ) -> FundingClock:
        if interval_s <= 0.0:
            raise ValueError(f"funding of {symbol}: interval {interval_s} s must be > 0")
        next_ts = (math.floor(now / interval_s) + 1) * interval_s
        return cls(symbol, interval_s, interest_rate, cap, next_ts, premium)

    def accrue(self, premium_area: float, dt: float, premium_now: float) -> None:
        """``dt`` more seconds passed, over which the premium integrated to
        ``premium_area``; it is ``premium_now`` at their end."""
        self._premium_integral += premium_area
        self._integral_s += dt
        self._last_premium = premium_now

    @property
    def rate(self) -> float:
        """The rate the next settlement will apply, as far as the interval has run."""
        average = (
            self._premium_integral / self._integral_s
            if self._integral_s > 0
            else self._last_premium
        )
        return funding_rate(average, self.interest_rate, self.cap)

    def settle(self, mark_price: float) -> FundingSettlement:
        """Settle at ``next_ts`` (the caller has accrued up to it) and start a new interval."""
        settlement = FundingSettlement(self.symbol, self.next_ts, self.rate, mark_price)
        self._premium_integral = 0.0
        self._integral_s = 0.0
        self.next_ts += self.interval_s
        return settlement

    def published(self) -> FundingRate:
        """What the venue publishes: the predicted rate, the interval and the next time."""
        return FundingRate(self.symbol, self.rate, self.interval_s, self.next_ts)
