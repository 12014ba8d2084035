"""Funding of one perpetual: the rate it will settle at and when, and the slow part of
the premium that makes it persist.

Venues derive the rate from the premium of the perpetual over the index averaged over
the interval, pulled towards an interest rate quoted per 8 hours, scaled to the
contract's interval and capped:
``rate = clamp((premium + clamp(interest - premium, ±0.05%)) * interval / 8 h, ±cap)``
(the formula Gate.io and Binance publish; a contract settled every hour pays an eighth
of an 8-hour contract's rate at the same premium). Here the index is the spot mid, so
the premium is the perpetual's premium over it (the price process's fast gap plus the
slow :class:`PremiumBias`), integrated over time. Settlements fall on multiples of the
interval since the Unix epoch (00:00, 08:00, 16:00 UTC for 8 h), as on the venues.

While the averaged premium stays within 0.05% of the interest rate, the rate is the
interest rate itself (0.01% per 8 h by default), as real rates sit at it most of the
time; the bias's excursions beyond that band are the stretches of higher rates and,
below -0.05%, of negative ones.
"""

from __future__ import annotations

import math
import random

import attrs
import msgspec

from protocols.model import Symbol
from protocols.venue import FundingRate

# The band within which the interest rate may pull the premium (Gate.io, Binance).
INTEREST_BAND = 0.0005

RATE_PERIOD_S = 8.0 * 3600.0
"""The interval the interest rate and the premium's rate are quoted for: a contract of
another interval pays its rate scaled by ``interval / RATE_PERIOD_S``."""


class FundingSettlement(msgspec.Struct, frozen=True):
    """Funding due at ``ts``: longs pay ``rate * notional at mark_price`` to shorts (the
    other way round when ``rate`` is negative)."""

    symbol: Symbol
    ts: float
    rate: float
    mark_price: float


def funding_rate(
    premium: float, interest_rate: float, cap: float, interval_s: float = RATE_PERIOD_S
) -> float:
    """The rate of a contract settled every ``interval_s`` whose premium averaged
    ``premium`` over the interval (``interest_rate`` per 8 hours)."""
    pulled = premium + min(max(interest_rate - premium, -INTEREST_BAND), INTEREST_BAND)
    return min(max(pulled * (interval_s / RATE_PERIOD_S), -cap), cap)


@attrs.define
class PremiumBias:
    """The slow part of a perpetual's premium over spot: where its fast gap hovers, for
    days at a time (the demand for leverage of a bull or bear market). An
    Ornstein-Uhlenbeck process around ``mean`` with stationary spread ``stdev``, halving
    its distance to the mean every ``half_life_s``; it starts at the mean. Steps are
    exact for any ``dt``; its randomness is its own (``rng``), so its path is the same
    whatever else a run draws."""

    mean: float
    stdev: float
    half_life_s: float
    rng: random.Random
    value: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.half_life_s <= 0.0 or self.stdev < 0.0:
            raise ValueError("premium bias: half_life_s must be > 0 and stdev >= 0")
        self.value = self.mean

    def step(self, dt: float) -> float:
        """Move ``dt`` seconds forward (``dt`` <= 0 changes nothing) and return the bias
        integrated over the step: the integral of its expected path from where it
        started, exact without noise and unbiased with it."""
        if dt <= 0.0:
            return 0.0
        theta = math.log(2.0) / self.half_life_s
        kept = -math.expm1(-theta * dt)
        away = self.value - self.mean
        area = self.mean * dt + away * kept / theta
        decay = 1.0 - kept
        noise = self.stdev * math.sqrt(kept * (1.0 + decay)) * self.rng.gauss()
        self.value = self.mean + away * decay + noise
        return area


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
        return funding_rate(average, self.interest_rate, self.cap, self.interval_s)

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
