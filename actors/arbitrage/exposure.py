"""A strategy's exposure, as the portfolio's caps count it."""

from __future__ import annotations

from actors.arbitrage.context import ArbitrageContext
from actors.risk.caps import Exposure
from protocols.model import Side


def exposure_of(ctx: ArbitrageContext) -> Exposure:
    """Gross notional per leg in USDT: what is held, plus the unfilled rest of orders in
    flight that would grow the leg (a spot buy, a futures sell)."""
    positions = ctx.positions
    spot = positions.spot.qty * positions.spot.avg_price
    futures = positions.futures.qty * positions.futures.avg_price
    for order in ctx.active_orders.get("spot", {}).values():
        if order.side is Side.BUY:
            spot += max(order.qty - order.filled_qty, 0.0) * order.price
    for order in ctx.active_orders.get("futures", {}).values():
        if order.side is Side.SELL:
            futures += max(order.qty - order.filled_qty, 0.0) * order.price
    return Exposure(str(ctx.symbol), ctx.spot_venue, ctx.futures_venue, spot, futures)
