"""Below the reduce distance both legs are reduced; below the exit distance, closed."""

from __future__ import annotations

from actors.risk.config import RiskConfig
from actors.risk.liquidation import liquidation_action, liquidation_distance_pct


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
