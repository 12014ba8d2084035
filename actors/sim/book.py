"""One simulated order book: the crowd's visible liquidity on a few levels per side.

The book is redrawn around the touch each time the market moves and loses liquidity when
orders take it. Quantities are held as whole *lots* (the spot quantity step, or one
futures contract) so that taking and filling never accumulate float noise; everything the
book hands out is in base units, as everywhere in Basis. Every change bumps ``version``,
the sequence number that depth snapshots and diff streams carry (MEXC ``lastUpdateId``,
Gate.io ``id``/``u``).

The account's own resting orders are not shown in the book: it is the synthetic crowd's
liquidity, which resting orders trade against when it crosses them.
"""

from __future__ import annotations

import random

import attrs
import msgspec

from protocols.model import Quote, Side, Symbol
from protocols.rules import round_down, step_decimals
from protocols.venue import BookLevel, DepthDiff, DepthSnapshot


class DepthProfile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The shape of the visible book on each side.

    Level ``i`` (0 = the touch) sits ``i`` level spacings from the touch, spacing being
    ``level_spacing_bps`` of the mid but at least one tick, and holds about
    ``top_notional_usdt * growth**i`` USDT, each draw scaled by a uniform factor in
    ``[1 - jitter, 1 + jitter]`` and rounded to whole lots (at least one). With the
    defaults the touch holds 800 to 3,200 USDT, so an order of a few hundred USDT fills
    on the first level while one of tens of thousands walks several levels.
    """

    levels: int = 10
    level_spacing_bps: float = 1.0
    top_notional_usdt: float = 2_000.0
    growth: float = 1.4
    jitter: float = 0.6

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 1_000:
            raise ValueError(f"depth profile: levels {self.levels} must be within 1..1000")
        if self.level_spacing_bps < 0.0 or self.top_notional_usdt <= 0.0 or self.growth <= 0.0:
            raise ValueError(
                "depth profile: level_spacing_bps must be >= 0, top_notional_usdt and growth > 0"
            )
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"depth profile: jitter {self.jitter} must be within [0, 1)")


Execution = tuple[float, int]
"""A price and a number of lots taken there."""


@attrs.define(eq=False)
class _Level:
    price: float
    lots: int


@attrs.define(eq=False)
class SimBook:
    """The visible book of ``symbol`` on one venue; ``lot`` base units per lot, prices on
    the ``tick`` grid. Bids are held best (highest) first, asks best (lowest) first."""

    symbol: Symbol
    lot: float
    tick: float
    profile: DepthProfile
    version: int = 0
    updated_ts: float = 0.0
    _bids: list[_Level] = attrs.field(factory=list, init=False)
    _asks: list[_Level] = attrs.field(factory=list, init=False)
    _lot_decimals: int = attrs.field(init=False)
    _tick_decimals: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.lot <= 0.0 or self.tick <= 0.0:
            raise ValueError(f"book {self.symbol}: lot and tick must be > 0")
        self._lot_decimals = step_decimals(self.lot)
        self._tick_decimals = step_decimals(self.tick)

    # --------------------------------------------------------------------- reading

    def qty(self, lots: int) -> float:
        """``lots`` in base units, exact to the lot's decimals."""
        return round(lots * self.lot, self._lot_decimals)

    def price_of(self, ticks: int) -> float:
        """``ticks`` ticks as a price, exact to the tick's decimals."""
        return round(ticks * self.tick, self._tick_decimals)

    def quote(self) -> Quote:
        """Best bid and ask with their sizes; an empty side is ``0.0`` / ``0.0``."""
        bid = self._bids[0] if self._bids else None
        ask = self._asks[0] if self._asks else None
        return Quote(
            self.symbol,
            bid.price if bid else 0.0,
            self.qty(bid.lots) if bid else 0.0,
            ask.price if ask else 0.0,
            self.qty(ask.lots) if ask else 0.0,
            self.updated_ts,
            self.updated_ts,
        )

    def snapshot(self, limit: int | None = None) -> DepthSnapshot:
        """The book at ``version``, at most ``limit`` levels per side."""
        # ``qty`` inlined: every venue takes a snapshot of every book on every tick.
        lot, decimals = self.lot, self._lot_decimals
        return DepthSnapshot(
            self.symbol,
            self.version,
            tuple(BookLevel(lv.price, round(lv.lots * lot, decimals)) for lv in self._bids[:limit]),
            tuple(BookLevel(lv.price, round(lv.lots * lot, decimals)) for lv in self._asks[:limit]),
        )

    def sweep(self, taker: Side, limit_price: float | None, max_lots: int) -> list[Execution]:
        """What an order taking liquidity would get, best price first, without taking it:
        a buy walks the asks up to ``limit_price`` (``None``: no limit), a sell the bids
        down to it, for at most ``max_lots``."""
        levels = self._asks if taker is Side.BUY else self._bids
        executions: list[Execution] = []
        wanted = max_lots
        for level in levels:
            if wanted <= 0:
                break
            if limit_price is not None and (
                level.price > limit_price if taker is Side.BUY else level.price < limit_price
            ):
                break
            take = min(wanted, level.lots)
            executions.append((level.price, take))
            wanted -= take
        return executions

    # -------------------------------------------------------------------- changing

    def consume(self, taker: Side, executions: list[Execution], now: float) -> None:
        """Take what ``sweep`` returned for the same book state."""
        if not executions:
            return
        levels = self._asks if taker is Side.BUY else self._bids
        for (price, lots), level in zip(executions, list(levels), strict=False):
            if level.price != price or lots > level.lots:
                raise ValueError(f"book {self.symbol}: executions do not match the book")
            level.lots -= lots
        while levels and levels[0].lots == 0:
            levels.pop(0)
        self._changed(now)

    def redraw(self, mid: float, bid: float, ask: float, rng: random.Random, now: float) -> None:
        """Replace every level: the crowd's liquidity around a new touch ``bid``/``ask``."""
        p = self.profile
        spacing = max(self.tick, round_down(mid * p.level_spacing_bps / 10_000.0, self.tick))
        self._bids = self._draw_side(bid, -spacing, rng)
        self._asks = self._draw_side(ask, spacing, rng)
        self._changed(now)

    def restate(self, now: float) -> None:
        """The same levels again as a new version: an update that changes nothing, which
        the venue pushes all the same (the market held still, ``SimMarket.stand_still``)."""
        self._changed(now)

    def _draw_side(self, touch: float, spacing: float, rng: random.Random) -> list[_Level]:
        # Every book of every venue is redrawn on each tick: attributes are read once.
        p = self.profile
        jitter, growth, lot, decimals = p.jitter, p.growth, self.lot, self._tick_decimals
        draw = rng.random
        levels: list[_Level] = []
        add, level = levels.append, _Level
        notional = p.top_notional_usdt
        for i in range(p.levels):
            price = round(touch + i * spacing, decimals)
            if price <= 0.0:
                break
            lots = round(notional * (1.0 + jitter * (2.0 * draw() - 1.0)) / price / lot)
            add(level(price, lots if lots > 1 else 1))
            notional *= growth
        return levels

    def _changed(self, now: float) -> None:
        self.version += 1
        self.updated_ts = now


def depth_diff(old: DepthSnapshot, new: DepthSnapshot, venue_ts: float) -> DepthDiff | None:
    """The levels that changed from ``old`` to ``new`` (a quantity of ``0`` removes the
    level), covering versions ``old.version + 1 .. new.version``; ``None`` when nothing
    changed. A diff stream is the sequence of these between the snapshots it last sent,
    which is exact however many changes it skipped."""
    if new.version <= old.version:
        return None
    return DepthDiff(
        new.symbol,
        old.version + 1,
        new.version,
        _changed_levels(old.bids, new.bids),
        _changed_levels(old.asks, new.asks),
        venue_ts,
    )


def _changed_levels(
    old: tuple[BookLevel, ...], new: tuple[BookLevel, ...]
) -> tuple[BookLevel, ...]:
    # Every book of every venue is diffed on each tick: one pass over each side, the new
    # side's levels handed on as they are (they are frozen). What is left of ``before``
    # once the new side has taken its prices out is what was removed.
    before = {level.price: level.qty for level in old}
    take = before.pop
    changed = [level for level in new if take(level.price, None) != level.qty]
    changed += [BookLevel(price, 0.0) for price in before]
    return tuple(changed)
