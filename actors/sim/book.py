"""One simulated order book: the crowd's visible liquidity on a few levels per side.

The book evolves as a real one does each time the market moves (``evolve``): levels keep
their prices and sizes until the crowd's orders change them, the touch moving adds and
removes levels near it, and a few sizes change on each move; the book loses liquidity
when orders take it. What changed since the last look is kept (``take_changes``), so that
a venue pushes a diff of a handful of levels without comparing whole books.

Quantities are held as whole *lots* (the spot quantity step, or one futures contract) so
that taking and filling never accumulate float noise; everything the book hands out is
in base units, as everywhere in Basis. Every change bumps ``version``, the sequence
number that depth snapshots and diff streams carry (MEXC ``lastUpdateId``, Gate.io
``id``/``u``).

The account's own resting orders are not shown in the book: it is the synthetic crowd's
liquidity, which resting orders trade against when it crosses them."""

from __future__ import annotations

import random

import attrs
import msgspec

from protocols.model import Quote, Side, Symbol
from protocols.rules import round_down, step_decimals
from protocols.venue import BookLevel, DepthSnapshot


class DepthProfile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The shape of the visible book on each side.

    Level ``i`` (0 = the touch) sits ``i`` level spacings from the touch, spacing being
    ``level_spacing_bps`` of the mid but at least one tick, and holds about
    ``top_notional_usdt * growth**i`` USDT, each draw scaled by a uniform factor in
    ``[1 - jitter, 1 + jitter]`` and rounded to whole lots (at least one). A size is
    drawn when its level appears and when the crowd changes it (``SimBook.evolve``): the
    touch's on every move of the market, so with the defaults the touch holds 800 to
    3,200 USDT, and an order of a few hundred USDT fills on the first level while one of
    tens of thousands walks several levels.
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


_RESIZED_BEHIND_TOUCH = 2
"""Levels behind the touch (drawn at random, the same one possibly twice) whose size
changes on each move of the market: enough that a level that moved from its place is soon
drawn again for its new one, few enough that a diff stays a handful of levels."""

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
    _notionals: tuple[float, ...] = attrs.field(init=False)
    # What changed since ``_changes_from``, for ``take_changes``: each price's level now,
    # ``None`` once it is gone.
    _changed_bids: dict[float, _Level | None] = attrs.field(factory=dict, init=False)
    _changed_asks: dict[float, _Level | None] = attrs.field(factory=dict, init=False)
    _changes_from: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        if self.lot <= 0.0 or self.tick <= 0.0:
            raise ValueError(f"book {self.symbol}: lot and tick must be > 0")
        self._lot_decimals = step_decimals(self.lot)
        self._tick_decimals = step_decimals(self.tick)
        p = self.profile
        self._notionals = tuple(p.top_notional_usdt * p.growth**i for i in range(p.levels))

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
        levels, changed = (
            (self._asks, self._changed_asks)
            if taker is Side.BUY
            else (self._bids, self._changed_bids)
        )
        for (price, lots), level in zip(executions, list(levels), strict=False):
            if level.price != price or lots > level.lots:
                raise ValueError(f"book {self.symbol}: executions do not match the book")
        for (price, lots), level in zip(executions, list(levels), strict=False):
            level.lots -= lots
            changed[price] = level
        while levels and levels[0].lots == 0:
            changed[levels.pop(0).price] = None
        self._changed(now)

    def evolve(self, mid: float, bid: float, ask: float, rng: random.Random, now: float) -> None:
        """Move the book to a new touch ``bid``/``ask``, as a real book moves: levels keep
        their prices, those the touch went past are gone, new ones appear between the
        touch and the book where it jumped away, and the side is kept ``levels`` deep by
        dropping or adding levels at its far end. Then the crowd's orders change a few
        sizes: the touch's always (where orders arrive most), and a couple of others.
        Every size is drawn from the profile for the level's place; the first call, on an
        empty book, draws every level."""
        p = self.profile
        spacing = max(self.tick, round_down(mid * p.level_spacing_bps / 10_000.0, self.tick))
        self._evolve_side(self._bids, self._changed_bids, bid, -spacing, rng)
        self._evolve_side(self._asks, self._changed_asks, ask, spacing, rng)
        self._changed(now)

    def restate(self, now: float) -> None:
        """The same levels again as a new version: an update that changes nothing, which
        the venue pushes all the same (the market held still, ``SimMarket.stand_still``)."""
        self._changed(now)

    def take_changes(
        self, version: int | None
    ) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]] | None:
        """The levels (bids, asks, best first) that changed after ``version`` up to the
        book's ``version`` (a quantity of ``0`` for a level that is gone), for the one
        reader that follows the book: each call hands the changes since the one before,
        so ``None`` when ``version`` is not where that call left the book (the reader
        missed changes and has to start again from a snapshot), or is ``None`` (the
        reader starts following the book now)."""
        if version is None or version != self._changes_from:
            self._forget_changes()
            return None
        changes = (
            self._levels_at(self._changed_bids, reverse=True),
            self._levels_at(self._changed_asks, reverse=False),
        )
        self._forget_changes()
        return changes

    def _levels_at(
        self, changed: dict[float, _Level | None], *, reverse: bool
    ) -> tuple[BookLevel, ...]:
        lot, decimals = self.lot, self._lot_decimals
        return tuple(
            BookLevel(price, 0.0 if level is None else round(level.lots * lot, decimals))
            for price, level in sorted(changed.items(), reverse=reverse)
        )

    def _forget_changes(self) -> None:
        self._changed_bids.clear()
        self._changed_asks.clear()
        self._changes_from = self.version

    def _evolve_side(
        self,
        levels: list[_Level],
        changed: dict[float, _Level | None],
        touch: float,
        spacing: float,
        rng: random.Random,
    ) -> None:
        # ``spacing`` is signed: negative on the bids, whose deeper levels are lower. Every
        # book of every venue evolves on each tick: the common case (the touch stayed, or
        # moved less than half a spacing) touches a few levels only.
        depth, decimals = self.profile.levels, self._tick_decimals
        gone = 0
        while gone < len(levels) and (levels[gone].price - touch) * spacing < 0.0:
            changed[levels[gone].price] = None
            gone += 1
        del levels[:gone]
        if not levels or levels[0].price != touch:
            levels.insert(0, _Level(touch, 0))
        # A level less than half a spacing behind the touch merges into it; a touch that
        # jumped away from the book gets levels in between, a spacing apart.
        half = abs(spacing) / 2.0
        while len(levels) > 1 and abs(levels[1].price - touch) < half:
            changed[levels.pop(1).price] = None
        filled = 0
        while filled < depth - 1 and filled + 1 < len(levels):
            price = round(levels[filled].price + spacing, decimals)
            if (levels[filled + 1].price - price) / spacing < 0.5:
                break
            filled += 1
            levels.insert(filled, _Level(price, 0))
        if len(levels) > depth:
            for level in levels[depth:]:
                changed[level.price] = None
            del levels[depth:]
        kept = len(levels)
        while len(levels) < depth:
            price = round(levels[-1].price + spacing, decimals)
            if price <= 0.0:
                break
            levels.append(_Level(price, 0))
        # Sizes: the touch and the levels filled in behind it, those added at the far end,
        # and a few at random behind the touch.
        draw = rng.random
        deeper = len(levels) - 1
        places = [*range(filled + 1), *range(kept, len(levels))]
        if deeper:
            places += [1 + int(draw() * deeper) for _ in range(_RESIZED_BEHIND_TOUCH)]
        jitter, notionals, lot = self.profile.jitter, self._notionals, self.lot
        for place in places:
            level = levels[place]
            notional = notionals[place] * (1.0 + jitter * (2.0 * draw() - 1.0))
            lots = round(notional / level.price / lot)
            level.lots = lots if lots > 1 else 1
            changed[level.price] = level

    def _changed(self, now: float) -> None:
        self.version += 1
        self.updated_ts = now
