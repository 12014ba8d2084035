"""The simulated venues: one market shared by spot venues and futures venues.

Each symbol trades on one pair, a spot venue and a futures venue (``SimConfig.pairs``;
MEXC and Gate.io unless told otherwise), so each of the market's books has one venue
reading and taking from it; a venue lists the symbols of the pairs it is in.

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
from typing import TypeVar

import msgspec

from actors.sim.config import (
    SPOT_VENUES,
    VENUE_SETTINGS,
    FuturesVenueConfig,
    SimConfig,
    SpotVenueConfig,
    SymbolConfig,
)
from actors.sim.futures_exchange import FuturesExchange
from actors.sim.market import SimMarket
from actors.sim.records import AutoDeleverage
from actors.sim.spot_exchange import SpotExchange
from protocols.model import Leg, Symbol


def leg_of(name: str) -> Leg:
    """The leg venue ``name`` trades."""
    return Leg.SPOT if name in SPOT_VENUES else Leg.FUTURES


class SimVenues:
    """Spot and perpetual venues on one simulated market, starting at time ``now`` (Unix
    seconds): each symbol at the venues its pair names (``SimConfig.pairs``). ``spot``
    and ``futures`` are the first symbol's."""

    def __init__(self, config: SimConfig, now: float) -> None:
        seeds = random.Random(config.seed)
        self.config = config
        self.market = SimMarket(config, random.Random(seeds.getrandbits(64)), now)
        self.pairs = {c.symbol: config.pair(c.symbol) for c in config.symbols}
        # Drawn in a fixed order (spot venues, then futures venues, each in the order
        # the symbols first name them), so that a seed gives the same venues each time.
        self.venue_configs: dict[str, SpotVenueConfig | FuturesVenueConfig] = {}
        """Each venue's configuration: ``[sim.spot]``'s or ``[sim.futures]``'s, named."""
        self.spot_venues: dict[str, SpotExchange] = {}
        for name in dict.fromkeys(spot for spot, _ in self.pairs.values()):
            spot_config = _as_venue(config.venue_table(name), name)
            self.venue_configs[name] = spot_config
            self.spot_venues[name] = SpotExchange(
                spot_config,
                self._listed(name, 0),
                self.market,
                random.Random(seeds.getrandbits(64)),
            )
        self.futures_venues: dict[str, FuturesExchange] = {}
        for name in dict.fromkeys(futures for _, futures in self.pairs.values()):
            futures_config = _as_venue(config.venue_table(name), name)
            self.venue_configs[name] = futures_config
            self.futures_venues[name] = FuturesExchange(
                futures_config,
                self._listed(name, 1),
                self.market,
                random.Random(seeds.getrandbits(64)),
            )
        first_spot, first_futures = next(iter(self.pairs.values()))
        self.spot = self.spot_venues[first_spot]
        self.futures = self.futures_venues[first_futures]

    def _listed(self, name: str, leg: int) -> tuple[SymbolConfig, ...]:
        return tuple(c for c in self.config.symbols if self.pairs[c.symbol][leg] == name)

    @property
    def exchanges(self) -> dict[str, SpotExchange | FuturesExchange]:
        """Every venue, by name."""
        return {**self.spot_venues, **self.futures_venues}

    def futures_of(self, symbol: Symbol) -> FuturesExchange:
        """The futures venue ``symbol`` trades on."""
        return self.futures_venues[self.pairs[symbol][1]]

    @property
    def now(self) -> float:
        return self.market.now

    def advance(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        """Move ``symbols`` (every symbol when ``None``) to ``now``, settle their funding,
        fill their crossed resting orders, liquidate what their mark prices reached."""
        for settlement in self.market.advance(now, symbols):
            self.futures_of(settlement.symbol).settle_funding(settlement)
        self._match(self.market.now, symbols)

    def stand_still(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        """Go to ``now`` with ``symbols`` (every symbol when ``None``) held still
        (``SimMarket.stand_still``), settling the funding that falls due on the way."""
        for settlement in self.market.stand_still(now, symbols):
            self.futures_of(settlement.symbol).settle_funding(settlement)

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
        return self.futures_of(symbol).auto_deleverage(symbol, contracts, now=self.market.now)

    def transfer(self, name: str, amount: float) -> float:
        """Move ``amount`` USDT into (out of, when negative) the account at venue ``name``,
        now; returns what moved (``SpotExchange.transfer``, ``FuturesExchange.transfer``)."""
        if name in self.spot_venues:
            return self.spot_venues[name].transfer("USDT", amount, self.market.now)
        return self.futures_venues[name].transfer(amount, self.market.now)

    def _match(self, now: float, symbols: Sequence[Symbol] | None = None) -> None:
        for spot in self.spot_venues.values():
            spot.match_resting(now, self.listed_at(spot.name, symbols))
        for futures in self.futures_venues.values():
            listed = self.listed_at(futures.name, symbols)
            futures.match_resting(now, listed)
            futures.liquidate_crossed(now, listed)

    def listed_at(self, name: str, symbols: Sequence[Symbol] | None) -> Sequence[Symbol] | None:
        """Those of ``symbols`` venue ``name`` lists (``None``: all it lists)."""
        if symbols is None or len(self.spot_venues) + len(self.futures_venues) == 2:
            return symbols
        return [symbol for symbol in symbols if name in self.pairs[symbol]]


VenueConfig = TypeVar("VenueConfig", SpotVenueConfig, FuturesVenueConfig)


def _as_venue(config: VenueConfig, name: str) -> VenueConfig:
    """``config`` as venue ``name``'s: what sets the venue apart (``VENUE_SETTINGS``)
    where ``config`` keeps the default, what ``config`` sets otherwise."""
    defaults = type(config)()
    own = {
        field: value
        for field, value in VENUE_SETTINGS.get(name, {}).items()
        if getattr(config, field) == getattr(defaults, field)
    }
    return msgspec.structs.replace(config, name=name, **own)
