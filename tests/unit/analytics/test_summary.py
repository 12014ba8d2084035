"""A window's figures, each checked against figures worked out by hand, and the equity
curve's and exposure's bounds as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.analytics.history import History, OpenPosition, Window
from actors.analytics.summary import (
    DailyPnl,
    EquityPoint,
    SymbolRow,
    daily_pnl,
    equity_curve,
    exit_reasons,
    holding_times,
    sortino,
    summarize,
    symbol_rows,
)
from protocols.history import SeriesPoint
from tests.unit.analytics.builders import D, H, fill, funding, trade

BTC, ETH, SOL = "BTC/USDT", "ETH/USDT", "SOL/USDT"


def three_days() -> History:
    """Three UTC days from 1970-01-01: BTC closes twice (+100 at 05:00, +30 on day 3),
    ETH once (-40 on day 2, marked at -10 and -60 before), SOL is open at the end
    (realised -5, unrealised +15)."""
    return History(
        window=Window(0.0, 3 * D),
        cycles=[
            trade(BTC, 1 * H, 5 * H, 100.0, cycle=1),
            trade(ETH, 4 * H, D + 2 * H, -40.0, reason="timeout", task_id="t2"),
            trade(BTC, D + 10 * H, 2 * D + 1 * H, 30.0, cycle=2),
        ],
        fills=[
            fill(BTC, "mexc", 1 * H, 1.0, 100.0, 0.05, trade_id="a"),
            fill(BTC, "gateio_futures", 1 * H, 1.0, 99.5, 0.04, trade_id="b"),
            fill(SOL, "mexc", 2 * D + 5 * H, 2.0, 10.0, 0.01, trade_id="c"),
        ],
        funding=[
            funding(ETH, 8 * H, 1.5, ledger_id="L1"),
            funding(ETH, 16 * H, -0.5, ledger_id="L2"),
        ],
        series={
            BTC: [
                SeriesPoint(BTC, 2 * H, 0.1, 20.0),
                SeriesPoint(BTC, 3 * H, 0.1, 120.0),
                SeriesPoint(BTC, 5 * H, 0.2),  # flat again
            ],
            ETH: [SeriesPoint(ETH, 4.5 * H, 0.1, -10.0), SeriesPoint(ETH, D + 1 * H, 0.1, -60.0)],
        },
        settings={},
        open_positions=[OpenPosition("t3", SOL, 2 * D + 5 * H, 2.0, -5.0, 15.0)],
        incidents=[],
    )


def test_equity_is_marked_to_market_and_its_drawdown_runs_from_the_high_water_mark():
    assert equity_curve(three_days()) == [
        EquityPoint(0.0, 0.0, 0.0, 0.0),
        EquityPoint(2 * H, 20.0, 20.0, 0.0),  # BTC open, +20 if closed
        EquityPoint(3 * H, 120.0, 120.0, 0.0),
        EquityPoint(4.5 * H, 110.0, 120.0, 10.0),  # ETH open too, -10
        EquityPoint(5 * H, 90.0, 120.0, 30.0),  # BTC closed at +100: its mark replaced
        EquityPoint(D + 1 * H, 40.0, 120.0, 80.0),  # ETH marked at -60
        EquityPoint(D + 2 * H, 60.0, 120.0, 60.0),  # ETH closed at -40
        EquityPoint(2 * D + 1 * H, 90.0, 120.0, 30.0),  # BTC again, +30
        EquityPoint(3 * D, 100.0, 120.0, 20.0),  # SOL open: -5 realised, +15 not yet
    ]


def test_daily_pnl_is_each_utc_days_change_in_equity():
    assert daily_pnl(three_days()) == [
        DailyPnl("1970-01-01", 0.0, 90.0),
        DailyPnl("1970-01-02", D, -30.0),
        DailyPnl("1970-01-03", 2 * D, 40.0),
    ]


def test_the_summary_of_three_days():
    summary = summarize(three_days())
    mean = 100.0 / 3
    sample_std = math.sqrt(((90 - mean) ** 2 + (-30 - mean) ** 2 + (40 - mean) ** 2) / 2)
    downside = math.sqrt((0 + 30**2 + 0) / 3)
    assert summary.realized_pnl_usdt == 100 - 40 + 30 - 5
    assert summary.unrealized_pnl_usdt == 15.0
    assert summary.total_pnl_usdt == 100.0
    assert summary.fees_by_venue_usdt == {"gateio_futures": 0.04, "mexc": 0.05 + 0.01}
    assert summary.funding_usdt == 1.0
    assert summary.volume_usdt == 100.0 + 99.5 + 20.0
    assert (summary.cycles, summary.wins) == (3, 2)
    assert summary.win_rate == 2 / 3
    assert summary.avg_holding_s == (4 + 22 + 15) * H / 3
    # In a position: 01:00 to 02:00 the next day (BTC, then ETH), 10:00 that day to
    # 01:00 the day after (BTC), and from 05:00 that day to the end (SOL).
    assert summary.exposure_s == 25 * H + 15 * H + 19 * H
    assert summary.exposure_pct == pytest.approx(100 * 59 / 72)
    assert summary.max_drawdown_usdt == 80.0
    assert summary.sharpe == pytest.approx(mean / sample_std * math.sqrt(365))
    assert summary.sharpe == pytest.approx(10.565, abs=1e-3)
    assert summary.sortino == pytest.approx(mean / downside * math.sqrt(365))
    assert summary.sortino == pytest.approx(36.768, abs=1e-3)
    assert (summary.days, summary.start, summary.end) == (3, 0.0, 3 * D)


def test_holding_times_exit_reasons_and_a_row_per_symbol():
    history = three_days()
    assert holding_times(history) == [4 * H, 22 * H, 15 * H]
    assert exit_reasons(history) == {"profit": 2, "timeout": 1}
    assert list(exit_reasons(history)) == ["profit", "timeout"]
    assert symbol_rows(history) == [
        SymbolRow(BTC, 2, 2, 1.0, 130.0, 0.09, 0.0, 199.5, (4 * H + 15 * H) / 2),
        SymbolRow(ETH, 1, 0, 0.0, -40.0, 0.0, 1.0, 0.0, 22 * H),
        # SOL's open position has realised -5 (its fees so far).
        SymbolRow(SOL, 0, 0, None, -5.0, 0.01, 0.0, 20.0, None),
    ]


def _history(window: Window, daily: list[float]) -> History:
    """One cycle a day closing at noon with that day's P&L."""
    cycles = [
        trade(BTC, day * D + 11 * H, day * D + 12 * H, pnl, cycle=day + 1)
        for day, pnl in enumerate(daily)
    ]
    return History(window, cycles, [], [], {}, {}, [], [])


def test_sharpe_and_sortino_need_two_days_and_a_deviation():
    one_day = summarize(_history(Window(0.0, D), [10.0]))
    assert (one_day.days, one_day.sharpe, one_day.sortino) == (1, None, None)
    steady = summarize(_history(Window(0.0, 3 * D), [0.1, 0.1, 0.1]))
    assert (steady.days, steady.sharpe, steady.sortino) == (3, None, None)
    # Never a losing day: no downside to divide by.
    gaining = summarize(_history(Window(0.0, 2 * D), [1.0, 3.0]))
    assert gaining.sharpe == pytest.approx(2.0 / math.sqrt(2.0) * math.sqrt(365))
    assert gaining.sortino is None
    assert sortino([-1.0, -1.0]) == pytest.approx(-1.0 * math.sqrt(365))


def test_a_day_without_a_change_counts_as_a_day_of_zero():
    history = _history(Window(0.0, 3 * D), [5.0])
    assert [d.pnl_usdt for d in daily_pnl(history)] == [5.0, 0.0, 0.0]
    assert summarize(history).days == 3


def test_nothing_recorded_gives_zeros_and_no_ratios():
    summary = summarize(History(Window(), [], [], [], {}, {}, [], []))
    assert (summary.total_pnl_usdt, summary.cycles, summary.exposure_s, summary.days) == (
        0.0,
        0,
        0.0,
        0,
    )
    assert (summary.win_rate, summary.avg_holding_s, summary.exposure_pct) == (None, None, None)
    assert equity_curve(History(Window(), [], [], [], {}, {}, [], [])) == []


@st.composite
def histories(draw) -> History:
    end = draw(st.floats(1.0, 10 * D))
    times = st.floats(0.0, end, allow_nan=False)
    pnl = st.floats(-1e4, 1e4, allow_nan=False)
    cycles = []
    for number in range(draw(st.integers(0, 8))):
        a, b = sorted((draw(times), draw(times)))
        symbol = draw(st.sampled_from([BTC, ETH]))
        cycles.append(trade(symbol, a - draw(st.floats(0, D)), b, draw(pnl), cycle=number))
    cycles.sort(key=lambda c: c.exit_ts)
    series = {
        symbol: sorted(
            (
                SeriesPoint(symbol, draw(times), 0.1, draw(st.none() | pnl))
                for _ in range(draw(st.integers(0, 6)))
            ),
            key=lambda p: p.ts,
        )
        for symbol in (BTC, ETH)
    }
    opened = [
        OpenPosition("t9", SOL, draw(times), 1.0, draw(pnl), draw(st.none() | pnl))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return History(Window(0.0, end), cycles, [], [], series, {}, opened, [])


@settings(max_examples=60, deadline=None)
@given(histories())
def test_drawdown_and_exposure_stay_within_their_bounds(history):
    curve = equity_curve(history)
    summary = summarize(history)
    equities = [p.equity for p in curve]
    assert summary.max_drawdown_usdt >= 0.0
    assert summary.max_drawdown_usdt <= max(p.high_water for p in curve) - min(equities) + 1e-6
    assert all(p.drawdown >= 0.0 for p in curve)
    assert 0.0 <= summary.exposure_s <= history.window.end - history.window.start
    # The curve ends at the total, and the days add up to it.
    assert curve[-1].equity == pytest.approx(summary.total_pnl_usdt, abs=1e-6)
    daily = daily_pnl(history)
    assert math.fsum(d.pnl_usdt for d in daily) == pytest.approx(summary.total_pnl_usdt, abs=1e-6)
