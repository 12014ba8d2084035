"""The engine's records in the codecs' venue-neutral types, which the encoders write.

Venues report an IOC or market order whose remainder found no liquidity as cancelled
(MEXC ``CANCELED``/``PARTIALLY_CANCELED``, Gate.io ``finished`` as ``ioc``), so the
engine's ``EXPIRED`` becomes ``CANCELLED`` here. Client ids are passed in as each venue
spells them on the wire.
"""

from __future__ import annotations

from actors.sim.records import PerpetualPosition, VenueFill, VenueOrder
from protocols.model import OrderStatus
from protocols.rules import round_to_tick, whole_steps
from protocols.venue import FuturesPosition, OrderUpdate, Trade


def order_update(order: VenueOrder, client_id: str) -> OrderUpdate:
    status = OrderStatus.CANCELLED if order.status is OrderStatus.EXPIRED else order.status
    return OrderUpdate(
        symbol=order.symbol,
        client_id=client_id,
        venue_order_id=order.venue_order_id,
        status=status,
        side=order.side,
        qty=order.qty,
        price=order.price,
        filled_qty=order.filled_qty,
        avg_price=order.avg_price,
        fee=order.fees,
        reduce_only=order.reduce_only,
        ts=order.updated_ts,
    )


def account_trade(fill: VenueFill, client_id: str) -> Trade:
    """``fill`` as the account's trade, its fee in the asset the venue charged it in."""
    return Trade(
        symbol=fill.symbol,
        trade_id=fill.trade_id,
        client_id=client_id,
        venue_order_id=fill.venue_order_id,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        is_maker=fill.is_maker,
        ts=fill.ts,
    )


def futures_position(position: PerpetualPosition, price_tick: float) -> FuturesPosition:
    """``position`` with its prices as the venue reports them: the mark and liquidation
    prices on the contract's price grid, an entry that is a whole number of ticks on it
    exactly (the average of fills at one price is that price, not float noise)."""
    entry_ticks = whole_steps(position.entry_price, price_tick)
    return FuturesPosition(
        symbol=position.symbol,
        qty=position.qty,
        entry_price=(
            position.entry_price
            if entry_ticks is None
            else round_to_tick(entry_ticks * price_tick, price_tick)
        ),
        mark_price=round_to_tick(position.mark_price, price_tick),
        leverage=position.leverage,
        realised_pnl=position.realised_pnl,
        funding_pnl=position.funding_pnl,
        margin=position.margin,
        unrealised_pnl=position.unrealised_pnl,
        liq_price=round_to_tick(position.liq_price, price_tick),
        maintenance_rate=position.maintenance_rate,
        risk_limit=position.risk_limit,
    )
