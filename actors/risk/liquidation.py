"""How close the futures short is to liquidation, and what that calls for."""

from __future__ import annotations

from actors.risk.config import RiskConfig


def liquidation_distance_pct(mark_price: float, liq_price: float) -> float | None:
    """Mark-to-liquidation distance in % of the mark; ``None`` when nothing is held."""
    if mark_price <= 0.0 or liq_price <= 0.0:
        return None
    return abs(liq_price - mark_price) / mark_price * 100.0


def liquidation_action(mark_price: float, liq_price: float, config: RiskConfig) -> float | None:
    """The fraction of both legs to close: all of it below the exit distance, the
    configured fraction below the reduce distance, ``None`` farther away."""
    distance = liquidation_distance_pct(mark_price, liq_price)
    if distance is None:
        return None
    if distance < config.liquidation_exit_distance_pct:
        return 1.0
    if distance < config.liquidation_reduce_distance_pct:
        return config.liquidation_reduce_fraction
    return None
