"""The simulated prices of one coin: a spot mid and a perpetual mid that move together.

The spot mid follows geometric Brownian motion. The perpetual trades at a premium to it
(``perp_mid = spot_mid * (1 + gap + bias)``): a fast *gap* that reverts to a small mean
within minutes (an Ornstein-Uhlenbeck process) and now and then jumps away by a
dislocation, which is the moment an arbitrage pays: a futures premium that is bound to
shrink again; and a slow ``bias`` the market moves for days (``funding.PremiumBias``).
Funding follows the premium without its dislocations (``funding_premium``): they stand in
for the brief gaps an arbitrage lives on, a dozen a day so that a run sees entries within
minutes, far more than real markets have; averaged into funding they would swamp the
rate with a noise no venue's rate shows. Steps are exact for any ``dt``, so advancing
once by an hour and 36,000 times by 0.1 s draw from the same distribution.
"""

from __future__ import annotations

import math
import random

import attrs
import msgspec

from protocols.rules import round_down, step_decimals

_YEAR_S = 365.0 * 24.0 * 3600.0


class PriceProcessParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How one coin's prices move.

    ``volatility_annual`` is the spot log-price volatility per year (0.6 = 60%).
    ``gap_mean`` and ``gap_stdev`` are the perpetual's fast gap to spot (fractions, on top
    of the slow bias funding follows) on average and in its stationary spread;
    ``gap_half_life_s`` is how fast it reverts.
    A dislocation moves the gap to ``gap_mean ± dislocation_size``; random ones arrive
    ``dislocations_per_hour`` on average, with either sign.
    """

    volatility_annual: float = 0.6
    gap_mean: float = 0.0
    gap_stdev: float = 0.0004
    gap_half_life_s: float = 900.0
    dislocations_per_hour: float = 0.5
    dislocation_size: float = 0.012

    def __post_init__(self) -> None:
        if self.volatility_annual < 0.0 or self.gap_stdev < 0.0:
            raise ValueError("price process: volatility_annual and gap_stdev must be >= 0")
        if self.gap_half_life_s <= 0.0:
            raise ValueError("price process: gap_half_life_s must be > 0")
        if self.dislocations_per_hour < 0.0:
            raise ValueError("price process: dislocations_per_hour must be >= 0")
        if not -0.5 < self.gap_mean < 0.5 or not 0.0 <= self.dislocation_size < 0.5:
            raise ValueError("price process: gap_mean and dislocation_size must be under 50%")


@attrs.define
class PairPriceProcess:
    """Spot and perpetual mids of one coin; ``step`` moves them forward in time. ``bias``
    is the slow part of the premium, which its owner moves; ``jump`` the part of the gap
    the latest dislocation put there and that has not reverted yet."""

    params: PriceProcessParams
    spot_mid: float
    gap: float
    bias: float = 0.0
    jump: float = 0.0

    @classmethod
    def start(cls, price: float, params: PriceProcessParams) -> PairPriceProcess:
        """Begin at spot ``price`` with the perpetual at its mean premium."""
        if price <= 0.0:
            raise ValueError(f"price process: start price {price} must be > 0")
        return cls(params, price, params.gap_mean)

    @property
    def perp_mid(self) -> float:
        return self.spot_mid * (1.0 + self.premium)

    @property
    def premium(self) -> float:
        """The perpetual's premium over spot: the fast gap plus the slow bias."""
        return self.gap + self.bias

    @property
    def funding_premium(self) -> float:
        """The premium funding follows: the premium without the dislocation's part."""
        return self.gap - self.jump + self.bias

    def step(self, dt: float, rng: random.Random) -> float:
        """Move both mids ``dt`` seconds forward (``dt`` <= 0 changes nothing) and return
        the gap without its dislocation integrated over the step, for funding: the
        integral of its expected path from where it started, which is exact without noise
        and unbiased with it."""
        if dt <= 0.0:
            return 0.0
        p = self.params
        sigma = p.volatility_annual / math.sqrt(_YEAR_S)
        self.spot_mid *= math.exp(-0.5 * sigma * sigma * dt + sigma * math.sqrt(dt) * rng.gauss())
        theta = math.log(2.0) / p.gap_half_life_s
        decay = math.exp(-theta * dt)
        # The dislocation reverts as the rest of the gap does; only its share is left out.
        away = self.gap - self.jump - p.gap_mean
        gap_area = p.gap_mean * dt + away * -math.expm1(-theta * dt) / theta
        noise = p.gap_stdev * math.sqrt(1.0 - decay * decay) * rng.gauss()
        self.jump *= decay
        self.gap = p.gap_mean + (self.gap - p.gap_mean) * decay + noise
        # One jump at most per step, and none in the step's gap integral: both exact
        # enough while λ·dt is small, as in the sub-second steps the venues run at.
        if p.dislocations_per_hour > 0.0:
            rate_per_s = p.dislocations_per_hour / 3600.0
            if rng.random() < -math.expm1(-rate_per_s * dt):
                # The jump happened somewhere inside the step and has reverted since.
                age = rng.random() * dt
                sign = 1.0 if rng.random() < 0.5 else -1.0
                self.jump = sign * p.dislocation_size * math.exp(-theta * age)
                self.gap = p.gap_mean + self.jump
        return gap_area

    def dislocate(self, size: float | None = None) -> None:
        """Jump the perpetual to a premium of ``size`` over its mean now (default
        ``dislocation_size``): an entry opportunity for a long-spot, short-perp trade."""
        self.jump = self.params.dislocation_size if size is None else size
        self.gap = self.params.gap_mean + self.jump


def touch(mid: float, tick: float) -> tuple[float, float]:
    """The best bid and ask around ``mid`` on a ``tick`` grid: one tick apart, bid at or
    below the mid. Both are exact grid values (0.1 stays 0.1)."""
    bid = round_down(mid, tick)
    return bid, round(bid + tick, step_decimals(tick))
