"""The simulated venue pair: one market shared by a spot venue and a futures venue.

This is what the wire servers drive. A timer calls ``advance(now, symbols)``: those
symbols' markets move, funding due on the way is settled on the futures positions held
until then, resting orders the new books cross are filled, and futures positions whose
liquidation price the mark crossed are liquidated. All of it is per symbol (margin is
isolated: a position's liquidation depends on its own mark and margin only), so the
timer can move the symbols apart, each at its own moment. Requests go straight to
``spot`` and ``futures``.
One seed fixes everything: the market, and the venues' own draws (injected partial fills)
each get a generator derived from it, so adding a fault does not change the prices.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from actors.sim.config import SimConfig
from actors.sim.futures_exchange import FuturesExchange
from actors.sim.market import SimMarket
from actors.sim.records import AutoDeleverage
from actors.sim.spot_exchange import SpotExchange
from protocols.model import Symbol


class SimVenues:
    """A MEXC-like spot venue and a Gate.io-like perpetual venue on one simulated market,
    starting at time ``now`` (Unix seconds)."""

    def __init__(self, config: SimConfig, now: float) -> None:
        seeds = random.Random(config.seed)
        self.config = config
        self.market = SimMarket(config, random.Random(seeds.getrandbits(64)), now)
        self.spot = SpotExchange(
            config.spot, config.symbols, self.market, random.Random(seeds.getrandbits(64))
        )
        self.futures = FuturesExchange(
            config.futures, config.symbols, self.market, random.Random(seeds.getrandbits(64))
        )

    @property
    def now(self) -> float:
        return self.market.now

    def advance(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        """Move ``symbols`` (every symbol when ``None``) to ``now``, settle their funding,
        fill their crossed resting orders, liquidate what their mark prices reached."""
        for settlement in self.market.advance(now, symbols):
            self.futures.settle_funding(settlement)
        self._match(self.market.now, symbols)

    def stand_still(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        """Go to ``now`` with ``symbols`` (every symbol when ``None``) held still
        (``SimMarket.stand_still``), settling the funding that falls due on the way."""
        for settlement in self.market.stand_still(now, symbols):
            self.futures.settle_funding(settlement)

    def dislocate(self, symbol: Symbol | None = None, size: float | None = None) -> None:
        """Force an arbitrage opportunity now: the perpetual of ``symbol`` (every symbol
        when ``None``) jumps to a premium of ``size`` over its usual gap (default: each
        symbol's configured dislocation size)."""
        for s in self.market.symbols if symbol is None else (symbol,):
            self.market.dislocate(s, size)
        self._match(self.market.now)

    def run_price(self, symbol: Symbol, mark_price: float, seconds: float) -> None:
        """Run ``symbol``'s perpetual mark price towards ``mark_price`` over the next
        ``seconds``, spot along with it (``SimMarket.run_price``)."""
        self.market.run_price(symbol, mark_price, seconds)

    def auto_deleverage(self, symbol: Symbol, contracts: int | None = None) -> AutoDeleverage:
        """The futures venue's auto-deleveraging of ``contracts`` (``None``: all) of the
        position in ``symbol``, now (``FuturesExchange.auto_deleverage``)."""
        return self.futures.auto_deleverage(symbol, contracts, now=self.market.now)

    def transfer(self, leg: str, amount: float) -> float:
        """Move ``amount`` USDT into (out of, when negative) the ``spot`` or ``futures``
        account, now; returns what moved (``SpotExchange.transfer``,
        ``FuturesExchange.transfer``)."""
        if leg == "spot":
            return self.spot.transfer("USDT", amount, self.market.now)
        return self.futures.transfer(amount, self.market.now)

    def _match(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        self.spot.match_resting(now, symbols)
        self.futures.match_resting(now, symbols)
        self.futures.liquidate_crossed(now, symbols)
