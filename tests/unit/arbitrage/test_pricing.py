"""The strategy's formulas (docs/strategy.md), its worked example, and entry sizing."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from actors.arbitrage.pricing import entry_cost_pct, pnl_pct, size_entry
from protocols.model import VenueRules
from tests.unit.arbitrage.spec import (
    entry_cash_flows,
    exit_cash_flows,
    pnl_usdt,
    round_trip_pnl_usdt,
)


def test_the_design_notes_worked_example():
    assert entry_cost_pct(50_000.0, 49_750.0) == pytest.approx(0.50, abs=1e-12)
    spot_paid, futures_received = entry_cash_flows(1.0, 50_000.0, 49_750.0, 0.0005, 0.0005)
    assert spot_paid == 50_025.0
    assert futures_received == 49_725.125
    assert spot_paid - futures_received == 299.875


def test_pnl_of_a_cycle_follows_the_spec_formula():
    spot_paid, futures_received = entry_cash_flows(2.0, 100.0, 99.0, 0.001, 0.0005)
    spot_received, futures_paid = exit_cash_flows(2.0, 101.0, 99.5, 0.001, 0.0005)
    pnl = pnl_usdt(spot_paid, futures_received, spot_received, futures_paid)
    expected = (2 * 101 * 0.999 - 2 * 100 * 1.001) + (2 * 99 * 0.9995 - 2 * 99.5 * 1.0005)
    assert pnl == pytest.approx(expected, rel=1e-12)
    assert pnl_pct(pnl, 2.0, 100.0) == pytest.approx(expected / 200.0 * 100.0, rel=1e-12)
    assert pnl_pct(5.0, 0.0, 100.0) == 0.0  # nothing held: no percentage


def test_negative_entry_cost_means_the_futures_pay_a_premium():
    assert entry_cost_pct(100.0, 100.5) == pytest.approx(-0.5)


prices = st.floats(1e-4, 1e6, allow_nan=False)
fees = st.floats(0.0, 0.01)
quantities = st.floats(1e-6, 1e4)


@given(q=quantities, mid=prices, spread_bp=st.floats(0.0, 100.0), basis=st.floats(-0.05, 0.05),
       spot_fee=fees, fut_fee=fees)  # fmt: skip
def test_an_immediate_round_trip_loses_the_spreads_and_four_fees(
    q, mid, spread_bp, basis, spot_fee, fut_fee
):
    half = mid * spread_bp / 20_000.0
    sb, sa = mid - half, mid + half
    fmid = mid * (1.0 + basis)
    fb, fa = fmid - half, fmid + half
    pnl = round_trip_pnl_usdt(q, sa, fb, sb, fa, spot_fee, fut_fee)
    spreads = q * (sa - sb) + q * (fa - fb)
    four_fees = q * sa * spot_fee + q * sb * spot_fee + q * fb * fut_fee + q * fa * fut_fee
    # The P&L is a small difference of large cash flows: float error scales with those.
    assert pnl == pytest.approx(-(spreads + four_fees), abs=1e-12 * q * (sa + fa) + 1e-12)


# -------------------------------------------------------------------------- sizing

SPOT = VenueRules(qty_step=0.0001, min_qty=0.0002, min_notional=5.0, price_tick=0.01)
FUTURES = VenueRules(contract_size=0.001, min_contracts=1, price_tick=0.1)


def test_sizing_takes_the_budget_rounded_down_to_both_increments():
    sizing = size_entry(100.0, 50_000.0, 10.0, 49_750.0, 10.0, SPOT, FUTURES)
    assert sizing.skip_reason is None
    assert sizing.qty == 0.002  # 100/50000 = 0.002 exactly, a whole contract multiple


def test_sizing_is_capped_by_visible_size_on_either_leg():
    assert size_entry(1e6, 100.0, 3.7, 99.0, 50.0, VenueRules(), VenueRules()).qty == 3.7
    assert size_entry(1e6, 100.0, 50.0, 99.0, 2.5, VenueRules(), VenueRules()).qty == 2.5


@pytest.mark.parametrize(
    ("budget", "spot", "futures", "reason"),
    [
        (0.5, SPOT, FUTURES, "budget is below one increment"),
        (4.0, VenueRules(min_notional=5.0), VenueRules(), "is below the spot minimum notional 5"),
        (8.0, VenueRules(min_qty=1.0), VenueRules(), "is below the spot minimum quantity 1"),
        (100.0, VenueRules(), VenueRules(contract_size=0.001, min_contracts=5),
         "2 contracts is below the futures minimum of 5"),
        (100.0, VenueRules(), VenueRules(min_notional=500.0),
         "is below the futures minimum notional 500"),
    ],
)  # fmt: skip
def test_sizing_skips_with_the_reason(budget, spot, futures, reason):
    sizing = size_entry(budget, 50_000.0, 10.0, 49_750.0, 10.0, spot, futures)
    assert sizing.qty == 0.0
    assert reason in sizing.skip_reason


def test_an_empty_book_side_is_skipped():
    sizing = size_entry(100.0, 0.0, 0.0, 49_750.0, 1.0, SPOT, FUTURES)
    assert sizing.skip_reason == "a book side is empty"


rules_strategy = st.builds(
    VenueRules,
    qty_step=st.sampled_from([0.0, 1e-6, 1e-4, 0.01, 1.0]),
    min_qty=st.sampled_from([0.0, 1e-4, 0.01, 1.0]),
    min_notional=st.sampled_from([0.0, 1.0, 5.0, 10.0]),
    contract_size=st.sampled_from([0.0, 1e-4, 0.001, 0.01, 1.0]),
    min_contracts=st.sampled_from([0.0, 1.0, 10.0]),
)


@given(
    budget=st.floats(0.0, 1e6),
    sa=st.floats(1e-3, 1e5),
    premium=st.floats(-0.02, 0.02),
    ask_qty=st.floats(0.0, 1e5),
    bid_qty=st.floats(0.0, 1e5),
    spot=rules_strategy,
    futures=rules_strategy,
)
def test_a_sized_order_respects_budget_visible_size_and_every_minimum(
    budget, sa, premium, ask_qty, bid_qty, spot, futures
):
    fb = sa * (1.0 - premium)
    assume(fb > 0.0)
    sizing = size_entry(budget, sa, ask_qty, fb, bid_qty, spot, futures)
    q = sizing.qty
    if sizing.skip_reason is not None:
        assert q == 0.0
        return
    slack = 1.0 + 1e-9  # float noise of the rounding, never a real step up
    assert 0.0 < q <= min(budget / sa, ask_qty, bid_qty) * slack
    assert q * sa <= budget * slack
    assert q >= spot.min_qty and q >= futures.min_qty
    assert q * sa >= spot.min_notional and q * fb >= futures.min_notional
    if futures.contract_size:
        contracts = q / futures.contract_size
        assert math.isclose(contracts, round(contracts), abs_tol=1e-6)
        assert contracts >= futures.min_contracts * (1.0 - 1e-9)
    if spot.qty_step:
        multiple = q / spot.qty_step
        assert math.isclose(multiple, round(multiple), abs_tol=1e-6)
