"""Below the reduce distance both legs are reduced; below the exit distance, closed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.risk.config import RiskConfig
from actors.risk.liquidation import (
    MAINTENANCE_ALLOWANCE,
    entry_distance_pct,
    leverage_refusal,
    liquidation_action,
    liquidation_distance_pct,
    most_leverage,
)
from actors.sim import margin
from actors.sim.config import RiskTier


def test_the_action_follows_the_distance_from_the_mark_to_the_liquidation_price():
    config = RiskConfig(
        liquidation_reduce_distance_pct=30.0,
        liquidation_exit_distance_pct=15.0,
        liquidation_reduce_fraction=0.5,
    )
    assert liquidation_distance_pct(100.0, 140.0) == 40.0
    assert liquidation_action(100.0, 140.0, config) is None
    assert liquidation_action(100.0, 130.0, config) is None  # at the bound: not below it
    assert liquidation_action(100.0, 129.0, config) == 0.5
    assert liquidation_action(100.0, 114.0, config) == 1.0
    assert liquidation_action(100.0, 99.0, config) == 1.0  # past it: close


def test_a_position_without_a_liquidation_price_is_left_alone():
    assert liquidation_action(100.0, 0.0, RiskConfig()) is None
    assert liquidation_action(0.0, 120.0, RiskConfig()) is None


@given(st.integers(1, 125), st.floats(0.0, 0.002), st.floats(1.0, 1e5))
def test_the_distance_at_entry_is_where_the_venue_liquidates_a_new_short(leverage, fee, price):
    tiers = (RiskTier(1e12, 2 * MAINTENANCE_ALLOWANCE, MAINTENANCE_ALLOWANCE, 125.0),)
    size = 1000.0 / price
    liq = margin.liquidation_price(-size, price, size * price / leverage, tiers, fee)
    assert entry_distance_pct(leverage, fee) == pytest.approx(
        liquidation_distance_pct(price, liq), rel=1e-9
    )


@given(st.floats(5.0, 60.0), st.floats(0.0, 0.002))
def test_the_most_leverage_allowed_starts_outside_the_reduce_distance(reduce, fee):
    config = RiskConfig(liquidation_reduce_distance_pct=reduce, liquidation_exit_distance_pct=2.0)
    most = most_leverage(fee, config)
    if most >= 1:
        assert leverage_refusal(float(most), fee, config) is None
    refusal = leverage_refusal(float(most + 1), fee, config)
    assert refusal is not None
    assert "strategy.futures_leverage" in refusal
    assert "risk.liquidation_reduce_distance_pct" in refusal


def test_the_defaults_allow_up_to_3x_and_say_what_a_higher_leverage_would_do():
    assert most_leverage(0.0005, RiskConfig()) == 3
    assert "would be reduced at once" in leverage_refusal(4.0, 0.0005, RiskConfig())
    assert "would be closed at once" in leverage_refusal(7.0, 0.0005, RiskConfig())
