"""An isolated position's margin arithmetic: maintenance margin by risk limit tier, the
liquidation price Gate.io's formula gives, the bankruptcy price."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.sim import margin
from actors.sim.config import DEFAULT_RISK_TIERS, FuturesVenueConfig, RiskTier

ONE_TIER = (RiskTier(1e12, 0.01, 0.005, 100.0),)
TAKER = 0.0005

sizes = st.floats(min_value=0.001, max_value=1_000.0)
entries = st.floats(min_value=1.0, max_value=100_000.0)
leverages = st.floats(min_value=1.0, max_value=100.0)
shorts = st.booleans()
fees = st.floats(min_value=0.0, max_value=0.001)
allowed = st.floats(min_value=1.0, max_value=DEFAULT_RISK_TIERS[-1].leverage_max)
"""Leverages every tier allows: a position above its tier's is refused on opening."""


def balance(qty: float, entry: float, held: float, price: float) -> float:
    """The margin balance: margin plus unrealised P&L at ``price``."""
    return held + qty * (price - entry)


@given(sizes, entries, leverages, shorts, fees)
def test_with_one_tier_the_liquidation_price_is_gate_ios_formula(size, entry, lev, short, fee):
    qty = -size if short else size
    held = size * entry / lev
    rate = ONE_TIER[0].maintenance_rate
    price = margin.liquidation_price(qty, entry, held, ONE_TIER, fee)
    if short:
        expected = (entry + held / size) / (1.0 + (rate + fee))
    else:
        expected = max(0.0, (entry - held / size) / (1.0 - (rate + fee)))
    assert price == pytest.approx(expected, rel=1e-12, abs=1e-9 * entry)


@given(sizes, entries, allowed, shorts)
def test_at_the_liquidation_price_the_margin_balance_meets_the_tiered_maintenance_margin(
    size, entry, lev, short
):
    qty = -size * 1_000.0 if short else size * 1_000.0  # large enough to reach upper tiers
    held = abs(qty) * entry / lev
    price = margin.liquidation_price(qty, entry, held, DEFAULT_RISK_TIERS, TAKER)
    if price == 0.0:  # a long whose margin carries it down to nothing
        assert not short
        # (at 1x the margin is the whole value: the balance at 0 is 0 but for rounding)
        assert balance(qty, entry, held, 0.0) >= -1e-9 * held
        return
    value = abs(qty) * price
    needed = margin.maintenance_margin(DEFAULT_RISK_TIERS, value) + TAKER * value
    assert balance(qty, entry, held, price) == pytest.approx(needed, rel=1e-9, abs=1e-6 * held)
    assert (price > entry) if short else (price < entry)


@given(sizes, entries, allowed, allowed, shorts)
def test_more_margin_moves_the_liquidation_price_away(size, entry, lev_a, lev_b, short):
    qty = -size if short else size
    low, high = sorted((size * entry / lev_a, size * entry / lev_b))
    near = margin.liquidation_price(qty, entry, low, DEFAULT_RISK_TIERS, TAKER)
    far = margin.liquidation_price(qty, entry, high, DEFAULT_RISK_TIERS, TAKER)
    if short:
        assert far >= near > entry
    else:
        assert far <= near < entry


@given(entries, sizes)
def test_a_fully_margined_short_is_liquidated_near_twice_its_entry_and_a_long_never(entry, size):
    held = size * entry  # leverage 1
    short = margin.liquidation_price(-size, entry, held, ONE_TIER, TAKER)
    assert short == pytest.approx(2.0 * entry / (1.0 + 0.005 + TAKER))
    assert 1.98 * entry < short < 2.0 * entry
    assert margin.liquidation_price(size, entry, held, ONE_TIER, TAKER) == 0.0


@given(st.floats(min_value=0.0, max_value=40_000_000.0), st.floats(min_value=0.0, max_value=1e6))
def test_the_maintenance_margin_grows_with_the_value_without_jumps(value, more):
    lower = margin.maintenance_margin(DEFAULT_RISK_TIERS, value)
    higher = margin.maintenance_margin(DEFAULT_RISK_TIERS, value + more)
    top_rate = DEFAULT_RISK_TIERS[-1].maintenance_rate
    assert lower <= higher <= lower + top_rate * more + 1e-6


def test_each_tier_charges_its_own_slice_and_names_the_rate_the_value_falls_in():
    tiers = DEFAULT_RISK_TIERS
    assert margin.maintenance_margin(tiers, 1_000_000.0) == pytest.approx(5_000.0)
    # 1M at 0.5 %, then 500k at 1 %.
    assert margin.maintenance_margin(tiers, 1_500_000.0) == pytest.approx(10_000.0)
    assert [margin.tier_of(tiers, v) for v in (1.0, 1e6, 1e6 + 1, 3e6, 1e9)] == [0, 0, 1, 2, 4]


@given(sizes, entries, leverages, shorts)
def test_at_the_bankruptcy_price_the_margin_balance_is_spent(size, entry, lev, short):
    qty = -size if short else size
    held = size * entry / lev
    price = margin.bankruptcy_price(qty, entry, held)
    assert balance(qty, entry, held, price) == pytest.approx(0.0, abs=1e-9 * size * entry)
    liquidated_at = margin.liquidation_price(qty, entry, held, ONE_TIER, TAKER)
    # Liquidation comes first: the maintenance margin is still there to lose.
    # (a long at 1x goes bankrupt at 0, where it is liquidated: equal but for rounding)
    assert (price > liquidated_at) if short else (price <= liquidated_at + 1e-9 * entry)


def test_a_flat_position_has_no_liquidation_or_bankruptcy_price():
    assert margin.liquidation_price(0.0, 100.0, 0.0, DEFAULT_RISK_TIERS, TAKER) == 0.0
    assert margin.bankruptcy_price(0.0, 100.0, 0.0) == 0.0
    assert not margin.crossed(0.0, 100.0, 0.0)


@pytest.mark.parametrize(
    ("tiers", "says"),
    [
        ((), "at least one tier"),
        ((RiskTier(2e6, 0.02, 0.01, 50.0), RiskTier(1e6, 0.04, 0.02, 25.0)), "in order"),
        ((RiskTier(1e6, 0.01, 0.02, 100.0),), "maintenance_rate < initial_rate"),
        ((RiskTier(1e6, 0.01, 0.005, 0.5),), "leverage_max must be >= 1"),
    ],
)
def test_a_risk_limit_table_out_of_shape_is_refused(tiers, says):
    with pytest.raises(ValueError, match=says):
        FuturesVenueConfig(risk_tiers=tiers)
    with pytest.raises(ValueError, match="contract_risk_tiers COIN/USDT"):
        FuturesVenueConfig(contract_risk_tiers={"COIN/USDT": tiers})
