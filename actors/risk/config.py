"""The ``[risk]`` table of a configuration file, validated: bounds on what the portfolio
may hold and lose, and how the machine sizes and stops (README, "Risk")."""

from __future__ import annotations

from typing import Annotated

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0.0)]
Percent = Annotated[float, msgspec.Meta(gt=0.0, lt=100.0)]

MAX_CORRECTION_SLIPPAGE_PCT = 5.0
"""The most ``correction_slippage_pct`` may allow: past it a correction is a market
order by another name, trading wherever a thin book lets it."""


class RiskConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[risk]`` table. Notional is in USDT, counted gross (both legs of a hedged
    position: 100 USDT a leg is 200), held plus orders in flight that would grow a leg.
    ``None`` turns a stop off."""

    max_slippage_pct: Percent = 0.1
    """How far (in % of the best price) an entry's depth-weighted price may be from the
    best, on each book."""
    book_levels: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    """Levels of each book the feeds keep in their quotes for sizing."""
    max_symbol_notional_usdt: Positive = 1000.0
    max_venue_notional_usdt: Positive = 5000.0
    max_total_notional_usdt: Positive = 10000.0
    balance_interval_s: Positive = 5.0
    """How often the venues' free balances are read."""
    cycle_stop_loss_pct: Percent | None = 2.0
    """A cycle whose P&L (fees and funding included) falls below minus this % of its
    entry notional is closed, exit reason ``stop_loss``."""
    daily_loss_limit_usdt: Positive | None = 100.0
    max_drawdown_usdt: Positive | None = 200.0
    liquidation_reduce_distance_pct: Percent = 30.0
    """Mark-to-liquidation distance, in % of the mark, below which both legs are reduced."""
    liquidation_exit_distance_pct: Percent = 15.0
    """... and below which the position is closed."""
    liquidation_reduce_fraction: Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)] = 0.5
    correction_slippage_pct: Percent = 0.5
    """How far past the best price (in % of it) an order that corrects or flattens legs
    that differ may trade; it is a limit IOC at that price."""

    def __post_init__(self) -> None:
        if not self.correction_slippage_pct <= MAX_CORRECTION_SLIPPAGE_PCT:
            raise ValueError(
                f"correction_slippage_pct = {self.correction_slippage_pct:g}: a correction "
                f"priced that far past the best price is a market order by another name; "
                f"set it at most {MAX_CORRECTION_SLIPPAGE_PCT:g} (0.5 by default)"
            )
        if not self.liquidation_exit_distance_pct < self.liquidation_reduce_distance_pct:
            raise ValueError(
                f"liquidation_exit_distance_pct = {self.liquidation_exit_distance_pct:g} is not "
                f"below liquidation_reduce_distance_pct = "
                f"{self.liquidation_reduce_distance_pct:g}: the position is reduced first and "
                "closed nearer the liquidation price; set the exit distance below the reduce "
                "distance (15 and 30 by default)"
            )
        if not self.max_symbol_notional_usdt <= self.max_total_notional_usdt:
            raise ValueError(
                f"max_symbol_notional_usdt = {self.max_symbol_notional_usdt:g} is above "
                f"max_total_notional_usdt = {self.max_total_notional_usdt:g}, which every "
                "symbol shares; set it at most that (1000 and 10000 by default)"
            )
        if not self.max_venue_notional_usdt <= self.max_total_notional_usdt:
            raise ValueError(
                f"max_venue_notional_usdt = {self.max_venue_notional_usdt:g} is above "
                f"max_total_notional_usdt = {self.max_total_notional_usdt:g}, which every "
                "venue shares; set it at most that (5000 and 10000 by default)"
            )
