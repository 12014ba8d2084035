"""How close the futures short is to its liquidation, and what to do about it."""

from __future__ import annotations

from actors.risk.config import RiskConfig


def liquidation_distance_pct(mark_price: float, liq_price: float) -> float:
    """How far the mark must rise to reach the short's liquidation price, in % of the
    mark (a short is liquidated when the price rises)."""
    return (liq_price - mark_price) / mark_price * 100.0


def liquidation_action(mark_price: float, liq_price: float, config: RiskConfig) -> float | None:
    """The fraction of both legs to close (1.0: all of it), or ``None`` while the short
    is far enough from its liquidation. A position without a liquidation price (0, as
    a venue reports an unleveraged or empty one) or without a mark is left alone."""
    if mark_price <= 0.0 or liq_price <= 0.0:
        return None
    distance = liquidation_distance_pct(mark_price, liq_price)
    if distance < config.liquidation_exit_distance_pct:
        return 1.0
    if distance < config.liquidation_reduce_distance_pct:
        return config.liquidation_reduce_fraction
    return None
