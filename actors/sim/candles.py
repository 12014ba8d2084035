"""A simulated venue's price history: each symbol's one-minute candles of its last
price (sampled on every market tick) and of the account's own trades, the newest week
kept, so a venue running for weeks holds a bounded history.

Candles of longer intervals are built from the minutes on request, each starting where
the venue's interval starts (Unix-time multiples, calendar weeks from Monday, calendar
months). The simulated crowd does not trade: the volume of a candle is the account's
own trades in it.

Public trade lists need prints all the same (clients read the last trade price from
them): each minute the crowd stands for one print of the smallest lot at the last price
the market showed in the minute, taken by a buyer when the price rose over the minute
and by a seller when it fell. The account's own fills are listed among them.
"""

from __future__ import annotations

import calendar
import math
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import attrs

from actors.sim.records import VenueFill
from protocols.model import Side, Symbol
from protocols.venue import CandleFigures, PublicTrade

MINUTE_S = 60.0
KEPT_MINUTES = 7 * 24 * 60
"""A week of one-minute candles per symbol: what the venue can answer about."""
_WEEK_S = 7 * 24 * 3600.0
_MONDAY_OFFSET_S = 4 * 24 * 3600.0
"""The Unix epoch fell on a Thursday: Mondays start 4 days into each epoch week."""


@attrs.define
class Candle:
    """One interval from ``open_ts``: its first, highest, lowest and last price, the
    base and quote volume traded in it, and the last price the market showed in it
    (``shown``, at ``shown_ts``: the crowd's, not the account's trades)."""

    open_ts: float
    open: float
    high: float
    low: float
    close: float
    shown: float
    shown_ts: float
    volume: float = 0.0
    quote_volume: float = 0.0

    def include(self, price: float) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price

    def figures(self) -> CandleFigures:
        return CandleFigures(
            self.open_ts,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.quote_volume,
        )

    def merge(self, later: Candle) -> None:
        self.high = max(self.high, later.high)
        self.low = min(self.low, later.low)
        self.close = later.close
        self.shown, self.shown_ts = later.shown, later.shown_ts
        self.volume += later.volume
        self.quote_volume += later.quote_volume


IntervalStart = Callable[[float], float]
"""Where the interval holding a Unix time starts."""


@attrs.frozen
class Interval:
    """A candle interval: where the one holding a Unix time starts, and its longest
    length (a calendar month's: 31 days)."""

    start: IntervalStart
    longest_s: float

    def next_start(self, open_ts: float) -> float:
        """Where the interval after the one starting at ``open_ts`` starts."""
        return self.start(open_ts + self.longest_s)


def every(seconds: float) -> Interval:
    """Intervals of ``seconds`` (a whole number of minutes) from the Unix epoch."""
    return Interval(lambda ts: math.floor(ts / seconds) * seconds, seconds)


def _monday(ts: float) -> float:
    return math.floor((ts - _MONDAY_OFFSET_S) / _WEEK_S) * _WEEK_S + _MONDAY_OFFSET_S


def _first_of_month(ts: float) -> float:
    day = datetime.fromtimestamp(ts, UTC)
    return float(calendar.timegm((day.year, day.month, 1, 0, 0, 0)))


WEEK_FROM_MONDAY = Interval(_monday, _WEEK_S)
CALENDAR_MONTH = Interval(_first_of_month, 31 * 24 * 3600.0)


class CandleHistory:
    """Every symbol's one-minute candles, the newest ``kept_minutes`` of each."""

    def __init__(self, kept_minutes: int = KEPT_MINUTES) -> None:
        self._minutes: dict[Symbol, deque[Candle]] = {}
        self._kept = kept_minutes

    def record_price(self, symbol: Symbol, price: float, ts: float) -> None:
        """The price the market of ``symbol`` showed at ``ts``."""
        minute = self._minute(symbol, price, ts)
        minute.include(price)
        minute.shown, minute.shown_ts = price, ts

    def record_trade(self, symbol: Symbol, qty: float, price: float, ts: float) -> None:
        """A trade of the account: ``qty`` base units at ``price``."""
        minute = self._minute(symbol, price, ts)
        minute.include(price)
        minute.volume += qty
        minute.quote_volume += qty * price

    def _minute(self, symbol: Symbol, price: float, ts: float) -> Candle:
        """The candle of the minute holding ``ts`` (a new one opening at ``price``)."""
        minutes = self._minutes.get(symbol)
        if minutes is None:
            minutes = self._minutes[symbol] = deque(maxlen=self._kept)
        start = math.floor(ts / MINUTE_S) * MINUTE_S
        if not minutes or minutes[-1].open_ts < start:
            minutes.append(Candle(start, price, price, price, price, price, ts))
        return minutes[-1]

    def minutes(self, symbol: Symbol) -> Iterable[Candle]:
        """``symbol``'s one-minute candles, oldest first."""
        return self._minutes.get(symbol, ())

    def candles(
        self, symbol: Symbol, interval: Interval, start_ts: float, end_ts: float
    ) -> list[Candle]:
        """The candles of ``interval`` that start within ``start_ts..end_ts``, oldest
        first; an interval in which no price was seen has none."""
        built: list[Candle] = []
        for minute in self.minutes(symbol):
            opened = interval.start(minute.open_ts)
            if opened < start_ts or opened > end_ts:
                continue
            if built and built[-1].open_ts == opened:
                built[-1].merge(minute)
            else:
                built.append(attrs.evolve(minute, open_ts=opened))
        return built


def public_trades(
    minutes: Iterable[Candle], fills: Iterable[VenueFill], lot: float, limit: int
) -> list[PublicTrade]:
    """The newest ``limit`` trades of a market, oldest first: one crowd print of ``lot``
    per minute of ``minutes`` and the account's ``fills``. A crowd print's id is the
    minute's number since the Unix epoch (the account's fills are numbered from 1)."""
    trades = [
        PublicTrade(
            round(minute.open_ts / MINUTE_S),
            minute.shown,
            lot,
            minute.shown_ts,
            taker_buys=minute.shown >= minute.open,
        )
        for minute in minutes
    ]
    trades += [
        PublicTrade(
            int(fill.trade_id),
            fill.price,
            fill.qty,
            fill.ts,
            # The taker bought when the account bought as taker or sold as maker.
            taker_buys=(fill.side is Side.BUY) != fill.is_maker,
        )
        for fill in fills
    ]
    trades.sort(key=lambda trade: trade.ts)
    return trades[-limit:]
