"""The ``[risk]`` table of a configuration file, validated."""

from __future__ import annotations

from typing import Annotated

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
Percent = Annotated[float, msgspec.Meta(gt=0.0, lt=100.0)]


class RiskConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The portfolio's caps, stops and liquidation distances (README, "Risk")."""

    max_slippage_pct: Positive = 0.1
    book_levels: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    max_symbol_notional_usdt: Positive = 1000.0
    max_venue_notional_usdt: Positive = 5000.0
    max_total_notional_usdt: Positive = 10000.0
    balance_interval_s: Positive = 5.0
    cycle_stop_loss_pct: Positive | None = 2.0
    daily_loss_limit_usdt: Positive | None = 100.0
    max_drawdown_usdt: Positive | None = 200.0
    liquidation_reduce_distance_pct: Percent = 30.0
    liquidation_exit_distance_pct: Percent = 15.0
    liquidation_reduce_fraction: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.5
    correction_slippage_pct: Positive = 0.5
    position_check_interval_s: Positive = 5.0

    def __post_init__(self) -> None:
        if not self.liquidation_exit_distance_pct < self.liquidation_reduce_distance_pct:
            raise ValueError(
                f"liquidation_exit_distance_pct = {self.liquidation_exit_distance_pct:g} must be "
                f"below liquidation_reduce_distance_pct = "
                f"{self.liquidation_reduce_distance_pct:g} (a position is reduced before it is "
                "closed)"
            )
