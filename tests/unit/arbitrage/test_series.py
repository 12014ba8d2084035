"""The series sampler: at most a point an interval, on the first quotes after it, with an
open position's P&L as closing it would make it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageState, Cycle, LegRules, Positions, new_context
from actors.arbitrage.machine import pnl_if_closed
from actors.arbitrage.pricing import entry_cost_pct, pnl_pct
from actors.arbitrage.series import SeriesSampler
from protocols.history import SeriesPoint
from protocols.model import LegPosition, Quote, Symbol, VenueRules

BTC = Symbol("BTC", "USDT")


def quote(bid: float, ask: float, now: float) -> Quote:
    return Quote(BTC, bid, 1.0, ask, 1.0, now, now)


def test_no_point_until_both_legs_have_a_price_then_one_an_interval() -> None:
    ctx = new_context("t1", BTC, now=0.0)
    sampler = SeriesSampler(1.0)
    spot, futures = quote(99.9, 100.0, 0.0), quote(99.5, 99.6, 0.0)
    assert sampler.sample(ctx, 0.0, spot, None) is None
    assert sampler.sample(ctx, 0.1, spot, quote(0.0, 99.6, 0.1)) is None  # no bid yet
    assert sampler.sample(ctx, 0.2, spot, futures) == SeriesPoint(
        "BTC/USDT", 0.2, entry_cost_pct(100.0, 99.5)
    )
    assert sampler.sample(ctx, 1.1, spot, futures) is None
    assert sampler.sample(ctx, 1.2, spot, futures) is not None


def test_an_open_position_is_valued_as_closing_it_now_would() -> None:
    ctx = new_context("t1", BTC, now=0.0).evolve(
        state=ArbitrageState.POSITION_OPEN,
        positions=Positions(LegPosition(2.0, 100.0, 0.1), LegPosition(2.0, 100.5, 0.1)),
        cycle=Cycle(realized_usdt=-0.2),
    )
    spot, futures = quote(101.0, 101.1, 5.0), quote(100.7, 100.8, 5.0)
    point = SeriesSampler(1.0).sample(ctx, 5.0, spot, futures)
    pnl = pnl_if_closed(ctx, 101.0, 100.8)
    assert point == SeriesPoint(
        "BTC/USDT",
        5.0,
        entry_cost_pct(101.1, 100.7),
        pnl,
        pnl_pct(pnl, 2.0, 100.0),
        pytest.approx(pnl + 0.2),
    )


@given(
    interval=st.floats(0.1, 10.0),
    gaps=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=200),
)
def test_points_are_an_interval_apart_and_taken_on_the_first_quote_due(
    interval: float, gaps: list[float]
) -> None:
    ctx = new_context("t1", BTC, now=0.0)
    sampler = SeriesSampler(interval)
    spot, futures = quote(99.9, 100.0, 0.0), quote(99.5, 99.6, 0.0)
    now, last = 0.0, None
    for gap in gaps:
        now += gap
        point = sampler.sample(ctx, now, spot, futures)
        due = last is None or now >= last + interval
        assert (point is not None) == due
        if point is not None:
            assert point.ts == now
            last = now


def test_dust_an_exit_left_gives_no_pnl_point() -> None:
    # The futures venue takes 10 contracts (0.001 BTC) at least: what is left is dust.
    rules = LegRules(
        VenueRules(qty_step=0.0001, min_notional=100.0),
        VenueRules(contract_size=0.0001, min_contracts=10),
    )
    ctx = new_context("t1", BTC, now=0.0, rules=rules).evolve(
        state=ArbitrageState.MONITORING,
        positions=Positions(LegPosition(0.0005, 100.0), LegPosition(0.0005, 100.5)),
    )
    spot, futures = quote(101.0, 101.1, 5.0), quote(100.7, 100.8, 5.0)
    point = SeriesSampler(1.0).sample(ctx, 5.0, spot, futures)
    assert point == SeriesPoint("BTC/USDT", 5.0, entry_cost_pct(101.1, 100.7))
