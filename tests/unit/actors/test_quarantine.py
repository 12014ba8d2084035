"""What each resolution of a quarantine makes of the record, against what the venues hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.arbitrage.context import ArbitrageState, LegRules, Positions, new_context
from actors.runtime.quarantine import (
    Holdings,
    ResolutionRefused,
    adopted,
    disagreement,
    flattening,
)
from protocols.model import LegPosition, Symbol, VenueRules

BTC = Symbol("BTC", "USDT")
CONTRACT = 0.0001
RULES = LegRules(
    VenueRules(qty_step=0.000001, price_tick=0.01),
    VenueRules(qty_step=CONTRACT, price_tick=0.1, contract_size=CONTRACT, min_contracts=1),
)


def record(spot=0.003, futures=0.003, base_fees=0.0):
    ctx = new_context("btc_t1", BTC, now=1.0, rules=RULES)
    return ctx.evolve(
        state=ArbitrageState.POSITION_OPEN,
        positions=Positions(
            LegPosition(spot, 60_000.0, 0.1, base_fees), LegPosition(futures, 60_100.0, 0.1)
        ),
        position_opened_at=2.0,
    )


def test_adopt_takes_the_short_as_held_and_the_coin_that_hedges_it():
    ctx = adopted(record(), Holdings(spot_held=0.0085, futures_short=0.0035), now=10.0)
    assert ctx.state is ArbitrageState.POSITION_OPEN
    assert ctx.positions.futures.qty == 0.0035
    assert ctx.positions.spot.qty == 0.0035  # the other 0.005 BTC are the account's own
    assert (ctx.positions.spot.avg_price, ctx.positions.futures.avg_price) == (60_000.0, 60_100.0)
    assert disagreement(ctx.positions, Holdings(0.0085, 0.0035), RULES, "BTC") is None


def test_adopt_counts_the_coin_fees_took_as_hedged_as_the_record_did():
    ctx = adopted(record(base_fees=0.000003), Holdings(0.01, 0.003), now=10.0)
    assert ctx.positions.spot.qty == pytest.approx(0.002997)
    assert ctx.positions.delta_qty == pytest.approx(0.0)


def test_adopt_of_no_short_leaves_a_task_without_a_position():
    ctx = adopted(record(), Holdings(spot_held=0.003, futures_short=0.0), now=10.0)
    assert ctx.positions == Positions()
    assert ctx.state is ArbitrageState.IDLE


@pytest.mark.parametrize(
    ("holdings", "says"),
    [
        (Holdings(spot_held=0.001, futures_short=0.003), "--flatten"),
        (Holdings(spot_held=0.003, futures_short=-0.002), "long"),
    ],
)
def test_adopt_refuses_legs_that_do_not_hedge_each_other(holdings, says):
    with pytest.raises(ResolutionRefused, match=says):
        adopted(record(), holdings, now=10.0)


def test_flatten_sells_the_coin_the_record_held_and_buys_back_the_whole_short():
    ctx = flattening(record(), Holdings(spot_held=0.01, futures_short=0.0035), now=10.0)
    assert (ctx.positions.spot.qty, ctx.positions.futures.qty) == (0.003, 0.0035)
    assert ctx.state is ArbitrageState.POSITION_OPEN
    assert (ctx.exit_reason, ctx.stop_requested) == ("operator", True)


def test_flatten_sells_what_is_held_when_less_than_the_record():
    ctx = flattening(record(), Holdings(spot_held=0.001, futures_short=0.003), now=10.0)
    assert ctx.positions.spot.qty == 0.001


def test_flatten_with_nothing_held_closes_the_record_at_once():
    ctx = flattening(record(), Holdings(spot_held=0.0, futures_short=0.0), now=10.0)
    assert ctx.state is ArbitrageState.STOPPED
    assert ctx.positions == Positions()


@given(
    spot=st.floats(0.0, 1.0),
    futures=st.floats(0.0, 1.0),
    held=st.floats(0.0, 2.0),
    short=st.floats(0.0, 2.0),
)
def test_what_adopt_makes_of_the_record_never_contradicts_the_venues(spot, futures, held, short):
    holdings = Holdings(held, short)
    try:
        ctx = adopted(record(spot, futures), holdings, now=10.0)
    except ResolutionRefused:
        return
    assert disagreement(ctx.positions, holdings, RULES, "BTC") is None
