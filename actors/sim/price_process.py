"""Spot and perpetual prices that move together, with the dislocations arbitrage waits for.

The spot mid follows a random walk. The gap ``(spot - futures) / spot`` — the strategy's
entry cost before spreads — reverts to a small mean (futures usually a touch above spot)
and now and then jumps by around a percent, as when the perpetual is sold off on its own.
Entries happen while the gap is small; exits when a jump has widened it enough.
"""

from __future__ import annotations

import math
import random

import attrs


@attrs.frozen
class ProcessShape:
    """How prices move. Volatilities are relative, per square root of a second."""

    volatility: float = 2e-4
    gap_mean: float = -3e-4
    gap_reversion_s: float = 40.0
    gap_volatility: float = 1.5e-4
    dislocation_every_s: float = 120.0
    dislocation_min: float = 0.008
    dislocation_max: float = 0.016
    spread: float = 1e-4
    """Quoted spread of each book, relative to its mid."""


@attrs.define
class PairPriceProcess:
    spot_mid: float
    rng: random.Random
    shape: ProcessShape = ProcessShape()
    gap: float = attrs.field()

    @gap.default
    def _start_at_the_mean(self) -> float:
        return self.shape.gap_mean

    @property
    def futures_mid(self) -> float:
        return self.spot_mid * (1.0 - self.gap)

    def advance(self, dt: float) -> None:
        """Move both prices ``dt`` seconds forward."""
        if dt <= 0.0:
            return
        shape = self.shape
        gauss = self.rng.gauss
        self.spot_mid *= math.exp(shape.volatility * math.sqrt(dt) * gauss(0.0, 1.0))
        decay = math.exp(-dt / shape.gap_reversion_s)
        spread = shape.gap_volatility * math.sqrt(shape.gap_reversion_s / 2.0 * (1 - decay**2))
        self.gap = shape.gap_mean + (self.gap - shape.gap_mean) * decay + spread * gauss(0.0, 1.0)
        if self.rng.random() < 1.0 - math.exp(-dt / shape.dislocation_every_s):
            self.gap += self.rng.uniform(shape.dislocation_min, shape.dislocation_max)

    def touch(self, mid: float, tick: float) -> tuple[float, float]:
        """(bid, ask) around ``mid``, on a ``tick`` grid, at least one tick apart."""
        half = mid * self.shape.spread / 2.0
        bid = math.floor((mid - half) / tick) * tick
        ask = max(math.ceil((mid + half) / tick) * tick, bid + tick)
        return bid, ask


def natural_tick(price: float) -> float:
    """A price increment like a venue would set: about a millionth of the price."""
    return 10.0 ** (math.floor(math.log10(price)) - 5)
