"""What one strategy holds and may soon hold, for the portfolio's caps."""

from __future__ import annotations

from actors.arbitrage.context import ArbitrageContext, ArbitrageState
from actors.arbitrage.machine import GOAL_OPEN, open_goal_notional
from actors.risk.caps import Exposure
from protocols.model import Leg, RiskMode, Side


def exposure_of(ctx: ArbitrageContext) -> Exposure:
    """The strategy's gross notional per leg in USDT: what each leg holds (at what it
    cost) plus the unfilled rest of its orders in flight that would grow a leg (a spot
    buy, a futures sell that is not reduce-only), at their limit prices: intents
    journaled and not yet filled count as soon as they are decided.

    An entry that filled one leg more than the other is corrected by growing the
    lagging leg to match: until it is, that leg counts as already grown (at the other
    leg's cost), so the room its entry took is not handed to another strategy in between.
    """
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
    spot_usdt = max(positions.spot.qty, 0.0) * positions.spot.avg_price + spot_pending
    futures_usdt = max(positions.futures.qty, 0.0) * positions.futures.avg_price + futures_pending
    if (
        ctx.state is ArbitrageState.IMBALANCED
        and ctx.imbalance_goal in (None, GOAL_OPEN)
        and ctx.risk_mode is RiskMode.ACTIVE
    ):
        grown = open_goal_notional(ctx)
        spot_usdt = max(spot_usdt, grown)
        futures_usdt = max(futures_usdt, grown)
    return Exposure(
        str(ctx.symbol),
        ctx.spot_venue,
        ctx.futures_venue,
        spot_usdt,
        futures_usdt,
        spot_pending,
        futures_pending,
    )
