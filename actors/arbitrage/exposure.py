"""What one strategy holds and may soon hold, for the portfolio's caps."""

from __future__ import annotations

from actors.arbitrage.context import ArbitrageContext
from actors.risk.caps import Exposure
from protocols.model import Leg, Side


def exposure_of(ctx: ArbitrageContext) -> Exposure:
    """The strategy's gross notional per leg in USDT: what each leg holds (at what it
    cost) plus the unfilled rest of its orders in flight that would grow a leg (a spot
    buy, a futures sell that is not reduce-only), at their limit prices: intents
    journaled and not yet filled count as soon as they are decided."""
    positions = ctx.positions
    spot_pending = 0.0
    futures_pending = 0.0
    for leg, orders in ctx.active_orders.items():
        for order in orders.values():
            rest = max(order.qty - order.filled_qty, 0.0) * order.price
            if leg == Leg.SPOT.value:
                if order.side is Side.BUY:
                    spot_pending += rest
            elif order.side is Side.SELL and not order.reduce_only:
                futures_pending += rest
    spot_held = max(positions.spot.qty, 0.0) * positions.spot.avg_price
    futures_held = max(positions.futures.qty, 0.0) * positions.futures.avg_price
    return Exposure(
        str(ctx.symbol),
        ctx.spot_venue,
        ctx.futures_venue,
        spot_held + spot_pending,
        futures_held + futures_pending,
        spot_pending,
        futures_pending,
    )
