"""A simulated venue's price history: one-minute candles of the prices it showed and of
the account's trades, a bounded number kept, longer candles built from them on the
venue's interval boundaries, and the public trade list made from both."""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from actors.sim.candles import (
    CALENDAR_MONTH,
    MINUTE_S,
    WEEK_FROM_MONDAY,
    CandleHistory,
    every,
    public_trades,
)
from actors.sim.records import VenueFill
from protocols.model import Side
from tests.unit.sim.helpers import COIN

T0 = 1_700_000_040.0
"""On a minute boundary (2023-11-14 22:14 UTC, a Tuesday)."""


def fill(side: Side, qty: float, price: float, ts: float, *, maker: bool = False) -> VenueFill:
    return VenueFill("venue", "7", "1", None, COIN, side, qty, price, 0.0, maker, ts)


def test_a_minute_holds_the_prices_shown_and_the_accounts_trades():
    history = CandleHistory()
    for offset, price in ((0.0, 100.0), (10.0, 103.0), (20.0, 98.0)):
        history.record_price(COIN, price, T0 + offset)
    history.record_trade(COIN, 2.0, 104.0, T0 + 30.0)
    history.record_price(COIN, 101.0, T0 + 50.0)
    history.record_price(COIN, 99.0, T0 + MINUTE_S)
    first, second = history.minutes(COIN)
    assert (first.open_ts, first.open, first.high, first.low) == (T0, 100.0, 104.0, 98.0)
    assert (first.close, first.shown, first.shown_ts) == (101.0, 101.0, T0 + 50.0)
    assert (first.volume, first.quote_volume) == (2.0, 208.0)
    assert (second.open_ts, second.open, second.volume) == (T0 + MINUTE_S, 99.0, 0.0)


def test_only_the_newest_minutes_are_kept():
    history = CandleHistory(kept_minutes=3)
    for minute in range(10):
        history.record_price(COIN, 100.0 + minute, T0 + minute * MINUTE_S)
    assert [c.open for c in history.minutes(COIN)] == [107.0, 108.0, 109.0]


@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.floats(1.0, 1e6, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    st.sampled_from([5, 15, 60]),
)
def test_longer_candles_are_the_minutes_they_hold(points, minutes_per_candle):
    history = CandleHistory()
    for offset, price in sorted(points):
        history.record_price(COIN, price, T0 + offset * 10.0)
    interval = every(minutes_per_candle * MINUTE_S)
    built = history.candles(COIN, interval, -math.inf, math.inf)
    minutes = list(history.minutes(COIN))
    assert sum(1 for _ in built) == len({interval.start(m.open_ts) for m in minutes})
    for candle in built:
        held = [m for m in minutes if interval.start(m.open_ts) == candle.open_ts]
        assert candle.open == held[0].open and candle.close == held[-1].close
        assert candle.high == max(m.high for m in held)
        assert candle.low == min(m.low for m in held)


def test_weeks_start_on_monday_and_months_on_the_first():
    monday = WEEK_FROM_MONDAY.start(T0)
    assert datetime.fromtimestamp(monday, UTC).strftime("%A %H:%M") == "Monday 00:00"
    assert T0 - 7 * 86400 < monday <= T0
    february = float(calendar.timegm((2024, 2, 10, 12, 0, 0)))
    opened = CALENDAR_MONTH.start(february)
    assert opened == calendar.timegm((2024, 2, 1, 0, 0, 0))
    assert CALENDAR_MONTH.next_start(opened) == calendar.timegm((2024, 3, 1, 0, 0, 0))
    five_minutes = every(300.0)
    opened = five_minutes.start(T0)
    assert opened % 300.0 == 0 and five_minutes.next_start(opened) == opened + 300.0


def test_a_time_range_selects_the_candles_that_start_within_it():
    history = CandleHistory()
    for minute in range(6):
        history.record_price(COIN, 100.0, T0 + minute * MINUTE_S)
    selected = history.candles(COIN, every(MINUTE_S), T0 + MINUTE_S, T0 + 3 * MINUTE_S)
    assert [c.open_ts for c in selected] == [T0 + m * MINUTE_S for m in (1, 2, 3)]


def test_public_trades_are_a_print_a_minute_and_the_accounts_fills():
    history = CandleHistory()
    history.record_price(COIN, 100.0, T0)
    history.record_price(COIN, 101.0, T0 + 30.0)  # rose: a buyer took it
    history.record_price(COIN, 100.0, T0 + MINUTE_S)
    history.record_price(COIN, 99.5, T0 + MINUTE_S + 40.0)  # fell: a seller
    sold_as_maker = fill(Side.SELL, 0.3, 100.2, T0 + 45.0, maker=True)
    trades = public_trades(history.minutes(COIN), [sold_as_maker], lot=0.01, limit=10)
    assert [(t.price, t.qty, t.ts, t.taker_buys) for t in trades] == [
        (101.0, 0.01, T0 + 30.0, True),
        (100.2, 0.3, T0 + 45.0, True),  # the account sold to a taker who bought
        (99.5, 0.01, T0 + MINUTE_S + 40.0, False),
    ]
    assert trades[0].trade_id == round(T0 / MINUTE_S) and trades[1].trade_id == 7
    assert public_trades(history.minutes(COIN), [sold_as_maker], 0.01, limit=1) == trades[-1:]
