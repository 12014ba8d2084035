"""The simulated market: for each symbol, a pair price process driving a spot book and a
perpetual book, and the perpetual's funding.

Time is whatever the caller says it is: ``advance(now)`` moves every symbol to ``now``
and its books to the new prices (``SimBook.evolve``), and returns the funding settlements
that fell due on the way. Each symbol keeps its own time, so the symbols can be moved
apart (``advance(now, symbols)``), each at its own moment, as the servers spread them
over their tick; the market's ``now`` is the latest any symbol was moved to.
Each perpetual's premium has a slow part (``PremiumBias``) besides the price process's
fast gap; funding averages both, the gap without its dislocations.
A price run (``run_price``) adds a steady drift to a symbol's prices for a while, on top
of their random moves, so that its mark price gets to a chosen price; spot moves with
it, so the basis stays as it was.
Randomness comes from the ``random.Random`` handed in, so a seed fixes the whole path; the
slow premium of each symbol draws from a generator of its own, seeded by the config's seed
and the symbol: its path is the same whatever else the run draws (more symbols, faster
ticks, other books).
The work per advance is O(symbols * levels), with a small constant: a book changes only
near its touch and at a few other levels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

import attrs

from actors.sim.book import SimBook
from actors.sim.config import SimConfig
from actors.sim.funding import FundingClock, FundingSettlement, PremiumBias
from actors.sim.price_process import PairPriceProcess, touch
from protocols.model import Leg, Quote, Symbol
from protocols.venue import FundingRate


@attrs.define(frozen=True)
class PriceRun:
    """A drift of ``log_rate`` per second on both mids from ``start_ts`` to ``end_ts``."""

    start_ts: float
    end_ts: float
    log_rate: float

    def drift(self, t0: float, t1: float) -> float:
        """The log move it adds between ``t0`` and ``t1``."""
        overlap = min(t1, self.end_ts) - max(t0, self.start_ts)
        return self.log_rate * overlap if overlap > 0.0 else 0.0


@attrs.define(eq=False)
class _SymbolMarket:
    process: PairPriceProcess
    spot: SimBook
    futures: SimBook
    funding: FundingClock
    bias: PremiumBias
    ts: float
    """The time the symbol was last moved (or held) to."""
    settled: list[FundingSettlement] = attrs.field(factory=list)
    run: PriceRun | None = None


class SimMarket:
    """Prices, books and funding of every configured symbol on both venues."""

    def __init__(self, config: SimConfig, rng: random.Random, now: float) -> None:
        self._rng = rng
        self._now = now
        self._markets: dict[Symbol, _SymbolMarket] = {}
        for sc in config.symbols:
            process = PairPriceProcess.start(sc.start_price, sc.process)
            bias = PremiumBias(
                sc.funding_mean,
                sc.funding_stdev,
                sc.funding_half_life_s,
                random.Random(f"premium {config.seed} {sc.symbol}"),
            )
            process.bias = bias.value
            spot_lot = sc.spot_rules.qty_step
            futures_lot = sc.futures_rules.contract_size
            market = _SymbolMarket(
                process,
                SimBook(sc.symbol, spot_lot, sc.spot_rules.price_tick, config.depth),
                SimBook(sc.symbol, futures_lot, sc.futures_rules.price_tick, config.depth),
                FundingClock.start(
                    sc.symbol,
                    now,
                    process.funding_premium,
                    sc.funding_interval_s,
                    config.futures.funding_interest_rate,
                    config.futures.funding_rate_cap,
                ),
                bias,
                now,
            )
            self._move_books(market, now)
            self._markets[sc.symbol] = market

    # --------------------------------------------------------------------- reading

    @property
    def now(self) -> float:
        """The latest time any symbol was advanced (or held) to."""
        return self._now

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(self._markets)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._markets

    def book(self, symbol: Symbol, leg: Leg) -> SimBook:
        """The book of ``symbol`` on the ``leg`` venue (``KeyError`` if not configured)."""
        market = self._markets[symbol]
        return market.spot if leg is Leg.SPOT else market.futures

    def quote(self, symbol: Symbol, leg: Leg) -> Quote:
        return self.book(symbol, leg).quote()

    def spot_mid(self, symbol: Symbol) -> float:
        """The spot mid: the perpetual's index price."""
        return self._markets[symbol].process.spot_mid

    def mark_price(self, symbol: Symbol) -> float:
        """The perpetual's mid, which positions are marked at and funding is paid on."""
        return self._markets[symbol].process.perp_mid

    def funding_rate(self, symbol: Symbol) -> FundingRate:
        """The predicted rate of the next settlement, its interval and time."""
        return self._markets[symbol].funding.published()

    def funding_history(self, symbol: Symbol) -> tuple[FundingSettlement, ...]:
        """Every settlement so far, oldest first."""
        return tuple(self._markets[symbol].settled)

    # -------------------------------------------------------------------- changing

    def advance(
        self, now: float, symbols: Iterable[Symbol] | None = None
    ) -> list[FundingSettlement]:
        """Move ``symbols`` (every symbol when ``None``) to ``now`` and their books with
        them; return the settlements that fell due, in time order. A symbol already at
        ``now`` or later does not change, so a clock that steps back (NTP) cannot break
        the market."""
        settlements: list[FundingSettlement] = []
        moved: list[_SymbolMarket] = []
        for market in self._chosen(symbols):
            t = market.ts
            if now <= t:
                continue
            # Stop at each settlement so it is priced on the premium of its own interval.
            while market.funding.next_ts <= now:
                self._move(market, t, market.funding.next_ts)
                t = market.funding.next_ts
                settlement = market.funding.settle(market.process.perp_mid)
                market.settled.append(settlement)
                settlements.append(settlement)
            self._move(market, t, now)
            market.ts = now
            moved.append(market)
        self._now = max(self._now, now)
        for market in moved:
            self._move_books(market, now)
        settlements.sort(key=lambda s: s.ts)
        return settlements

    def stand_still(
        self, now: float, symbols: Iterable[Symbol] | None = None
    ) -> list[FundingSettlement]:
        """Go to ``now`` with ``symbols`` (every symbol when ``None``) held still: no price
        step, no drift of a price run, no premium accrued, every book restated as it is
        (a new version, the same levels); settlements that fall due on the way are paid
        at the rate accrued before. Returns them; a symbol already at ``now`` or later
        does not change."""
        settlements: list[FundingSettlement] = []
        for market in self._chosen(symbols):
            if now <= market.ts:
                continue
            while market.funding.next_ts <= now:
                settlement = market.funding.settle(market.process.perp_mid)
                market.settled.append(settlement)
                settlements.append(settlement)
            market.spot.restate(now)
            market.futures.restate(now)
            if market.run is not None:
                # The run's time passes too: it resumes where it was, not later.
                held = now - max(market.ts, market.run.start_ts)
                if held > 0.0:
                    market.run = attrs.evolve(
                        market.run,
                        start_ts=market.run.start_ts + held,
                        end_ts=market.run.end_ts + held,
                    )
            market.ts = now
        self._now = max(self._now, now)
        settlements.sort(key=lambda s: s.ts)
        return settlements

    def dislocate(self, symbol: Symbol, size: float | None = None) -> None:
        """Jump the perpetual of ``symbol`` to a premium of ``size`` over its usual gap now
        (default: the configured dislocation size) and show it in both books."""
        market = self._markets[symbol]
        market.process.dislocate(size)
        market.funding.accrue(0.0, 0.0, market.process.funding_premium)
        self._move_books(market, self._now)

    def run_price(self, symbol: Symbol, mark_price: float, seconds: float) -> PriceRun:
        """Drift ``symbol``'s prices steadily from now for ``seconds`` (> 0) so that its
        mark price, noise aside, reaches ``mark_price`` (> 0) by then; spot moves by the
        same factor. Replaces a run still going on."""
        if not (mark_price > 0.0 and math.isfinite(mark_price)) or not seconds > 0.0:
            raise ValueError(
                f"a price run needs a price > 0 and seconds > 0, got {mark_price}, {seconds}"
            )
        market = self._markets[symbol]
        log_rate = math.log(mark_price / market.process.perp_mid) / seconds
        market.run = PriceRun(self._now, self._now + seconds, log_rate)
        return market.run

    def _chosen(self, symbols: Iterable[Symbol] | None) -> Iterable[_SymbolMarket]:
        if symbols is None:
            return self._markets.values()
        return [self._markets[symbol] for symbol in symbols]

    def _move(self, market: _SymbolMarket, t0: float, t1: float) -> None:
        dt = t1 - t0
        process = market.process
        gap_area = process.step(dt, self._rng)
        bias_area = market.bias.step(dt)
        process.bias = market.bias.value
        if market.run is not None:
            process.spot_mid *= math.exp(market.run.drift(t0, t1))
            if t1 >= market.run.end_ts:
                market.run = None
        market.funding.accrue(gap_area + bias_area, dt, process.funding_premium)

    def _move_books(self, market: _SymbolMarket, now: float) -> None:
        for book, mid in (
            (market.spot, market.process.spot_mid),
            (market.futures, market.process.perp_mid),
        ):
            bid, ask = touch(mid, book.tick)
            book.evolve(mid, bid, ask, self._rng, now)
